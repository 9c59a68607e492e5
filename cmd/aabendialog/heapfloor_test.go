package main

import "testing"

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]uint64{"0": 0, "4096": 4096, "512B": 512, "64KiB": 64 << 10, "128MiB": 128 << 20, " 2 GiB ": 2 << 30} {
		if got, err := parseBytes(in); err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}

// TestHeapFloorIsValidated: serve refuses a size it cannot read, from the flag or the
// environment, naming the flag, before it starts anything.
func TestHeapFloorIsValidated(t *testing.T) {
	for _, c := range []struct{ flag, env string }{{"12x", ""}, {"-1MiB", ""}, {"1.5GiB", ""}, {"MiB", ""}, {"128mb", ""}, {"99999999999GiB", ""}, {"", "lots"}} {
		serveRefuses(t, "heap-floor", "AABENDIALOG_HEAP_FLOOR", c.flag, c.env, "MiB")
	}
}
