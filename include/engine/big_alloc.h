/* big_alloc.h - zeroed allocations for the engine's large fixed tables,
 * backed by transparent huge pages where the kernel offers them: a table of
 * a million flows spans ~1 GiB, and with 4 KiB pages every lookup would also
 * miss the TLB. */
#ifndef SARA_BIG_ALLOC_H
#define SARA_BIG_ALLOC_H

#include <stddef.h>

/* count * size zeroed bytes, or NULL (also on overflow). */
void *big_calloc(size_t count, size_t size);
/* Frees what big_calloc returned for the same count and size. */
void big_free(void *ptr, size_t count, size_t size);

#endif
