//go:build !linux || !cgo

package projections

// releaseCMemory has nothing to do where the C allocator is not glibc's.
func releaseCMemory() {}
