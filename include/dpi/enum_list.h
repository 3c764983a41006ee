/* enum_list.h - an enum written once with what each value stands for: a list
 * macro of X(ID, value) rows expands to the enumerators and to a table
 * indexed by them (a result's name, a verdict's counter). */
#ifndef SARA_ENUM_LIST_H
#define SARA_ENUM_LIST_H

/* enum e { E_LIST(ENUM_LIST_ID) E_COUNT }; */
#define ENUM_LIST_ID(id, value) id,
/* static const char *const names[E_COUNT] = { E_LIST(ENUM_LIST_ENTRY) }; */
#define ENUM_LIST_ENTRY(id, value) [id] = value,

#endif
