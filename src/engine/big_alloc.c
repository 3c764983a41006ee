/* big_alloc.c - large zeroed tables on anonymous mappings, advised to use
 * transparent huge pages (small ones stay on the heap). */
#include "engine/big_alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE_PAGE ((size_t)2 << 20)

static size_t mapping_length(size_t count, size_t size)
{
	if (size && count > SIZE_MAX / size)
		return 0;
	return (count * size + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
}

void *big_calloc(size_t count, size_t size)
{
	size_t bytes, length;
	void *ptr;
	if (size && count > SIZE_MAX / size)
		return NULL;
	bytes = count * size;
	if (bytes < HUGE_PAGE) {
		/* Cache-line aligned, like the mappings: entries are laid out per line. */
		size_t rounded = (bytes + 63) & ~(size_t)63;
		ptr = aligned_alloc(64, rounded ? rounded : 64);
		if (ptr)
			memset(ptr, 0, rounded ? rounded : 64);
		return ptr;
	}
	length = mapping_length(count, size);
	ptr = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ptr == MAP_FAILED)
		return NULL;
	/* Advice only: where THP is off the table still works, on 4 KiB pages. */
	(void)madvise(ptr, length, MADV_HUGEPAGE);
	return ptr;
}

void big_free(void *ptr, size_t count, size_t size)
{
	if (!ptr)
		return;
	if (count * size < HUGE_PAGE)
		free(ptr);
	else
		munmap(ptr, mapping_length(count, size));
}
