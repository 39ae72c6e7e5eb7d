package monitor

import (
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/prometheus/procfs"

	"github.com/surgeload/surge/internal/promtext"
)

// commLen is the longest comm the kernel keeps (TASK_COMM_LEN - 1): a
// longer process name is matched against its first 15 bytes.
const commLen = 15

// watched is one process to sample, with the name it is labelled with.
type watched struct {
	proc procfs.Proc
	name string
}

// findProcesses resolves --pid and --process to the processes alive now,
// each pid once, and counts the matches of each selector.
func (s *Sampler) findProcesses() (ws []watched, counts []promtext.Sample) {
	seen := map[int]bool{}
	for _, pid := range s.o.PIDs {
		p, err := s.fs.Proc(pid)
		n := 0
		if err == nil && !seen[pid] {
			if comm, err := p.Comm(); err == nil {
				seen[pid] = true
				ws = append(ws, watched{proc: p, name: comm})
				n = 1
			}
		}
		counts = append(counts, promtext.Sample{Labels: promtext.L("selector", "pid:"+strconv.Itoa(pid)), Value: float64(n)})
	}
	if len(s.o.Processes) == 0 {
		return ws, counts
	}
	all, err := s.fs.AllProcs()
	matched := make([]int, len(s.o.Processes))
	if err == nil {
		for _, p := range all {
			if seen[p.PID] {
				continue
			}
			for i, name := range s.o.Processes {
				if matchName(p, name) {
					seen[p.PID] = true
					ws = append(ws, watched{proc: p, name: name})
					matched[i]++
					break
				}
			}
		}
	}
	for i, name := range s.o.Processes {
		counts = append(counts, promtext.Sample{Labels: promtext.L("selector", "process:"+name), Value: float64(matched[i])})
	}
	return ws, counts
}

// matchName reports whether p's comm, executable or argv[0] is called name.
// A process gone meanwhile does not match.
func matchName(p procfs.Proc, name string) bool {
	if comm, err := p.Comm(); err == nil {
		if comm == name || (len(name) > commLen && comm == name[:commLen]) {
			return true
		}
	}
	if exe, err := p.Executable(); err == nil && exe != "" && filepath.Base(exe) == name {
		return true
	}
	if args, err := p.CmdLine(); err == nil && len(args) > 0 && filepath.Base(args[0]) == name {
		return true
	}
	return false
}

// processFamilies samples every watched process: client_golang's process
// metric names, labelled pid and name, plus the CPU each may use.
func (s *Sampler) processFamilies() []promtext.Family {
	ws, counts := s.findProcesses()
	sort.Slice(ws, func(i, j int) bool { return ws[i].proc.PID < ws[j].proc.PID })
	cpu := promtext.Family{Name: "process_cpu_seconds_total", Type: promtext.Counter, Help: "Total user and system CPU time spent in seconds."}
	rss := promtext.Family{Name: "process_resident_memory_bytes", Type: promtext.Gauge, Help: "Resident memory size in bytes."}
	threads := promtext.Family{Name: "process_threads", Type: promtext.Gauge, Help: "Number of OS threads in the process."}
	fds := promtext.Family{Name: "process_open_fds", Type: promtext.Gauge, Help: "Number of open file descriptors."}
	limit := promtext.Family{Name: "surge_process_cpu_limit_cores", Type: promtext.Gauge,
		Help: "CPU the process may use, in cores: the smaller of its CPU affinity and its cgroup's CPU quota."}
	memLimit := promtext.Family{Name: "surge_process_memory_limit_bytes", Type: promtext.Gauge,
		Help: "Memory the process's cgroup may use, in bytes: the smallest memory.max (v1: memory.limit_in_bytes) of its cgroup and its ancestors; absent when none is set."}
	for _, w := range ws {
		st, err := w.proc.Stat()
		if err != nil {
			continue // exited between finding and sampling
		}
		l := promtext.L("pid", strconv.Itoa(w.proc.PID), "name", w.name)
		cpu.Samples = append(cpu.Samples, promtext.Sample{Labels: l, Value: st.CPUTime()})
		rss.Samples = append(rss.Samples, promtext.Sample{Labels: l, Value: float64(st.ResidentMemory())})
		threads.Samples = append(threads.Samples, promtext.Sample{Labels: l, Value: float64(st.NumThreads)})
		if n, err := w.proc.FileDescriptorsLen(); err == nil {
			fds.Samples = append(fds.Samples, promtext.Sample{Labels: l, Value: float64(n)})
		}
		if c := s.cpuLimit(w.proc); c > 0 {
			limit.Samples = append(limit.Samples, promtext.Sample{Labels: l, Value: c})
		}
		if m := s.memoryLimit(w.proc); m > 0 {
			memLimit.Samples = append(memLimit.Samples, promtext.Sample{Labels: l, Value: m})
		}
	}
	return []promtext.Family{cpu, rss, threads, fds, limit, memLimit, {
		Name: "surge_monitor_watched", Type: promtext.Gauge,
		Help: "Processes that each --pid or --process selector matched in this sample.", Samples: counts,
	}}
}

// cpuLimit is the CPU p may use in cores: the number of CPUs in its
// affinity mask, or less if a cgroup CPU quota (its own or an ancestor's)
// says so. 0 means it could not be read.
func (s *Sampler) cpuLimit(p procfs.Proc) float64 {
	limit := math.Inf(1)
	if st, err := p.NewStatus(); err == nil && len(st.CpusAllowedList) > 0 {
		limit = float64(len(st.CpusAllowedList))
	}
	if cgs, err := p.Cgroups(); err == nil {
		for _, cg := range cgs {
			switch {
			case cg.HierarchyID == 0:
				limit = math.Min(limit, quotaUp(s.v2mount, cg.Path, v2Quota))
			case s.v1cpu != "" && hasController(cg.Controllers, "cpu"):
				limit = math.Min(limit, quotaUp(s.v1cpu, cg.Path, v1Quota))
			}
		}
	}
	if math.IsInf(limit, 1) {
		return 0
	}
	return limit
}

// memoryLimit is the memory p's cgroup may use in bytes: the smallest
// memory limit of its cgroup and every ancestor, v2 or v1. 0 means none is
// set, or it could not be read: a limit is never guessed.
func (s *Sampler) memoryLimit(p procfs.Proc) float64 {
	limit := math.Inf(1)
	cgs, err := p.Cgroups()
	if err != nil {
		return 0
	}
	for _, cg := range cgs {
		switch {
		case cg.HierarchyID == 0:
			limit = math.Min(limit, quotaUp(s.v2mount, cg.Path, v2MemoryMax))
		case s.v1mem != "" && hasController(cg.Controllers, "memory"):
			limit = math.Min(limit, quotaUp(s.v1mem, cg.Path, v1MemoryLimit))
		}
	}
	if math.IsInf(limit, 1) {
		return 0
	}
	return limit
}

// v2MemoryMax reads memory.max in a cgroup v2 directory ("max" is none).
func v2MemoryMax(dir string) (float64, bool) {
	b, err := os.ReadFile(filepath.Join(dir, "memory.max"))
	if err != nil {
		return 0, false
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || v <= 0 {
		return 0, false // "max"
	}
	return float64(v), true
}

// v1NoLimit: cgroup v1 writes "no limit" as the largest page-aligned
// int64 (9223372036854771712); anything from 2^62 up is taken for it.
const v1NoLimit = 1 << 62

// v1MemoryLimit reads memory.limit_in_bytes in a cgroup v1 memory
// directory.
func v1MemoryLimit(dir string) (float64, bool) {
	v, err := readInt(filepath.Join(dir, "memory.limit_in_bytes"))
	if err != nil || v <= 0 || v >= v1NoLimit {
		return 0, false
	}
	return float64(v), true
}

func hasController(cs []string, c string) bool {
	for _, x := range cs {
		if x == c {
			return true
		}
	}
	return false
}

// quotaUp is the smallest CPU quota of the cgroup at mount/path and its
// ancestors (a parent's quota bounds its children), +Inf when none is set.
func quotaUp(mount, path string, read func(dir string) (float64, bool)) float64 {
	limit := math.Inf(1)
	dir := filepath.Join(mount, filepath.Clean("/"+path))
	for {
		if q, ok := read(dir); ok {
			limit = math.Min(limit, q)
		}
		if dir == mount || !strings.HasPrefix(dir, mount) {
			return limit
		}
		dir = filepath.Dir(dir)
	}
}

// v2Quota reads cpu.max in a cgroup v2 directory.
func v2Quota(dir string) (float64, bool) {
	b, err := os.ReadFile(filepath.Join(dir, "cpu.max"))
	if err != nil {
		return 0, false
	}
	c, err := parseCPUMax(b)
	return c, err == nil
}

// v1Quota reads cpu.cfs_quota_us / cpu.cfs_period_us in a cgroup v1 cpu
// directory (a quota of -1 is none).
func v1Quota(dir string) (float64, bool) {
	q, err1 := readInt(filepath.Join(dir, "cpu.cfs_quota_us"))
	p, err2 := readInt(filepath.Join(dir, "cpu.cfs_period_us"))
	if err1 != nil || err2 != nil || q <= 0 || p <= 0 {
		return 0, false
	}
	return float64(q) / float64(p), true
}

func readInt(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
}
