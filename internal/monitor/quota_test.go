package monitor

import (
	"math"
	"testing"
)

// TestQuotaUp: a process's CPU quota is the smallest of its cgroup's and
// every ancestor's, in v2 (cpu.max) and v1 (cfs_quota_us/cfs_period_us).
func TestQuotaUp(t *testing.T) {
	for _, c := range []struct {
		name, mount, path string
		read              func(string) (float64, bool)
		want              float64
	}{
		{"v2 child unlimited, parent 1.5", "testdata/quota/v2", "/a/b", v2Quota, 1.5},
		{"v2 parent itself", "testdata/quota/v2", "/a", v2Quota, 1.5},
		{"v2 root unlimited", "testdata/quota/v2", "/", v2Quota, math.Inf(1)},
		{"v2 missing dirs", "testdata/quota/v2", "/x/y", v2Quota, math.Inf(1)},
		{"v1 child 2.5 under parent 0.5", "testdata/quota/v1", "/a/b", v1Quota, 0.5},
		{"v1 root -1 is none", "testdata/quota/v1", "/", v1Quota, math.Inf(1)},
		{"path escaping the mount", "testdata/quota/v2", "/../../a", v2Quota, 1.5},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := quotaUp(c.mount, c.path, c.read); got != c.want {
				t.Errorf("quotaUp(%s, %s) = %v, want %v", c.mount, c.path, got, c.want)
			}
		})
	}
}

func TestParseCPUMax(t *testing.T) {
	for in, want := range map[string]float64{"150000 100000\n": 1.5, "50000 100000": 0.5, "200000 50000": 4} {
		if got, err := parseCPUMax([]byte(in)); err != nil || got != want {
			t.Errorf("parseCPUMax(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"max 100000", "", "1 2 3", "x 100000", "100 0"} {
		if _, err := parseCPUMax([]byte(in)); err == nil {
			t.Errorf("parseCPUMax(%q) succeeded", in)
		}
	}
}

// TestMemoryLimitUp: a process's memory limit is the smallest memory.max
// (v1: memory.limit_in_bytes) of its cgroup and its ancestors; "max" and
// v1's "no limit" number are none.
func TestMemoryLimitUp(t *testing.T) {
	for _, c := range []struct {
		name, mount, path string
		read              func(string) (float64, bool)
		want              float64
	}{
		{"v2 child max, parent 512 MiB", "testdata/quota/v2", "/a/b", v2MemoryMax, 512 << 20},
		{"v2 root none", "testdata/quota/v2", "/", v2MemoryMax, math.Inf(1)},
		{"v1 child 1 GiB under parent 256 MiB", "testdata/quota/v1", "/a/b", v1MemoryLimit, 256 << 20},
		{"v1 root's no-limit number", "testdata/quota/v1", "/", v1MemoryLimit, math.Inf(1)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := quotaUp(c.mount, c.path, c.read); got != c.want {
				t.Errorf("quotaUp(%s, %s) = %v, want %v", c.mount, c.path, got, c.want)
			}
		})
	}
}
