// glibc interfaces Swift's Glibc module leaves out: allocator tuning (mallopt) and stdio's
// per-stream locking switch (__fsetlocking).
#include <malloc.h>
#include <stdio_ext.h>
