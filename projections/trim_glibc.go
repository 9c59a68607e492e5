//go:build linux && cgo

package projections

// #include <malloc.h>
import "C"

// releaseCMemory gives the C heap's free memory back to the system: SQLite's page caches,
// shrunk after a bulk load, are otherwise kept by glibc's allocator for the process's life.
func releaseCMemory() { C.malloc_trim(0) }
