package monitor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/procfs"

	"github.com/surgeload/surge/internal/promtext"
)

// Options says what a Sampler watches besides the host. The zero value
// watches the host only.
type Options struct {
	// PIDs are processes watched by id (--pid). One that has exited is
	// left out of the exposition and counted as 0 in surge_monitor_watched.
	PIDs []int
	// Processes are names (--process): every process whose comm, the base
	// name of its executable or the base name of its argv[0] equals one is
	// watched, found anew at every sample (workers come and go).
	Processes []string
	// Cgroups are cgroup v2 directories (--cgroup): absolute, or relative
	// to the cgroup2 mount (e.g. "system.slice/api.service").
	Cgroups []string
	// ProcRoot is the proc file system; "" means /proc.
	ProcRoot string
}

// A Sampler reads the host's, the watched processes' and cgroups' counters
// from /proc and /sys/fs/cgroup each time Families is called. It is safe for
// concurrent use; concurrent calls take turns, so a burst of scrapes costs
// the host one sample at a time.
type Sampler struct {
	o        Options
	fs       procfs.FS
	cgroups  []cgroupDir
	procRoot string
	v2mount  string // the cgroup2 mount point
	v1cpu    string // the cgroup v1 cpu hierarchy's mount point, if any
	v1mem    string // the cgroup v1 memory hierarchy's mount point, if any
	mu       sync.Mutex
}

type cgroupDir struct{ name, dir string }

// New checks o (every cgroup directory must exist and hold cpu.stat; every
// pid must be positive) and returns a Sampler. Its errors are the user's:
// they name the flag.
func New(o Options) (*Sampler, error) {
	root := o.ProcRoot
	if root == "" {
		root = procfs.DefaultMountPoint
	}
	fs, err := procfs.NewFS(root)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", root, err)
	}
	s := &Sampler{o: o, fs: fs, procRoot: root}
	s.v2mount, s.v1cpu, s.v1mem = cgroupMounts(fs)
	for _, pid := range o.PIDs {
		if pid <= 0 {
			return nil, fmt.Errorf("--pid %d: not a process id", pid)
		}
	}
	for _, name := range o.Processes {
		if name == "" || strings.ContainsRune(name, '/') {
			return nil, fmt.Errorf("--process %q: give a process name (comm or executable base name), not a path", name)
		}
	}
	for _, c := range o.Cgroups {
		dir := c
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(s.v2mount, c)
		}
		if _, err := os.Stat(filepath.Join(dir, "cpu.stat")); err != nil {
			return nil, fmt.Errorf("--cgroup %q: not a cgroup v2 directory (no %s)", c, filepath.Join(dir, "cpu.stat"))
		}
		s.cgroups = append(s.cgroups, cgroupDir{name: c, dir: dir})
	}
	return s, nil
}

// Families samples everything once and returns it as metric families, host
// metrics under node_exporter's names first. A source that cannot be read
// (a file missing in a container, say) is left out and reported in
// surge_monitor_source_up; only a sampler that can read nothing fails.
func (s *Sampler) Families() ([]promtext.Family, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var fams []promtext.Family
	up := promtext.Family{Name: "surge_monitor_source_up", Type: promtext.Gauge,
		Help: "1 if the monitor could read this source in this sample, 0 if not."}
	source := func(name string, err error) bool {
		v := 1.0
		if err != nil {
			v = 0
		}
		up.Samples = append(up.Samples, promtext.Sample{Labels: promtext.L("source", name), Value: v})
		return err == nil
	}

	stat, err := s.fs.Stat()
	if source("stat", err) {
		fams = append(fams, cpuFamily(stat))
	}
	mem, err := s.fs.Meminfo()
	if source("meminfo", err) {
		fams = append(fams, gauge("node_memory_MemAvailable_bytes", "Memory information field MemAvailable_bytes.", mem.MemAvailableBytes),
			gauge("node_memory_MemTotal_bytes", "Memory information field MemTotal_bytes.", mem.MemTotalBytes))
	}
	load, err := s.fs.LoadAvg()
	if source("loadavg", err) {
		fams = append(fams, promtext.Family{Name: "node_load1", Type: promtext.Gauge, Help: "1m load average.",
			Samples: []promtext.Sample{{Value: load.Load1}}})
	}
	dev, err := s.fs.NetDev()
	if source("netdev", err) {
		fams = append(fams, netFamilies(dev)...)
	}
	self, err := s.fs.Self()
	snmp, err1 := procfs.ProcSnmp{}, err
	ns, err2 := procfs.ProcNetstat{}, err
	if err == nil {
		snmp, err1 = self.Snmp()
		ns, err2 = self.Netstat()
	}
	if source("snmp", err1) {
		fams = append(fams,
			gaugeF("node_netstat_Tcp_CurrEstab", "Statistic TcpCurrEstab.", snmp.CurrEstab),
			counterF("node_netstat_Tcp_RetransSegs", "Statistic TcpRetransSegs.", snmp.RetransSegs))
	}
	if source("netstat", err2) {
		fams = append(fams,
			counterF("node_netstat_TcpExt_ListenOverflows", "Statistic TcpExtListenOverflows.", ns.ListenOverflows),
			counterF("node_netstat_TcpExt_ListenDrops", "Statistic TcpExtListenDrops.", ns.ListenDrops))
	}
	fd, err := readFileNr(filepath.Join(s.procRoot, "sys/fs/file-nr"))
	if source("filefd", err) {
		fams = append(fams,
			promtext.Family{Name: "node_filefd_allocated", Type: promtext.Gauge, Help: "File descriptor statistics: allocated.",
				Samples: []promtext.Sample{{Value: fd[0]}}},
			promtext.Family{Name: "node_filefd_maximum", Type: promtext.Gauge, Help: "File descriptor statistics: maximum.",
				Samples: []promtext.Sample{{Value: fd[1]}}})
	}
	if len(s.o.PIDs)+len(s.o.Processes) > 0 {
		fams = append(fams, s.processFamilies()...)
	}
	for _, c := range s.cgroups {
		cf, err := readCgroup(c)
		source("cgroup:"+c.name, err)
		fams = mergeFamilies(fams, cf)
	}
	if stat.CPU == nil && mem.MemTotalBytes == nil && load == nil {
		return nil, errors.New("sampling: cannot read /proc/stat, /proc/meminfo or /proc/loadavg")
	}
	return append(fams, up), nil
}

// cpuModes are node_exporter's modes of node_cpu_seconds_total, in its
// order (guest time is inside user and nice, as the kernel counts it, and
// node_exporter exports it separately; so do we not).
var cpuModes = []struct {
	name string
	get  func(procfs.CPUStat) float64
}{
	{"idle", func(c procfs.CPUStat) float64 { return c.Idle }},
	{"iowait", func(c procfs.CPUStat) float64 { return c.Iowait }},
	{"irq", func(c procfs.CPUStat) float64 { return c.IRQ }},
	{"nice", func(c procfs.CPUStat) float64 { return c.Nice }},
	{"softirq", func(c procfs.CPUStat) float64 { return c.SoftIRQ }},
	{"steal", func(c procfs.CPUStat) float64 { return c.Steal }},
	{"system", func(c procfs.CPUStat) float64 { return c.System }},
	{"user", func(c procfs.CPUStat) float64 { return c.User }},
}

func cpuFamily(st procfs.Stat) promtext.Family {
	f := promtext.Family{Name: "node_cpu_seconds_total", Type: promtext.Counter,
		Help: "Seconds the CPUs spent in each mode."}
	cpus := make([]int64, 0, len(st.CPU))
	for c := range st.CPU {
		cpus = append(cpus, c)
	}
	sort.Slice(cpus, func(i, j int) bool { return cpus[i] < cpus[j] })
	for _, c := range cpus {
		for _, m := range cpuModes {
			f.Samples = append(f.Samples, promtext.Sample{
				Labels: promtext.L("cpu", strconv.FormatInt(c, 10), "mode", m.name),
				Value:  m.get(st.CPU[c]),
			})
		}
	}
	return f
}

func netFamilies(dev procfs.NetDev) []promtext.Family {
	rx := promtext.Family{Name: "node_network_receive_bytes_total", Type: promtext.Counter,
		Help: "Network device statistic receive_bytes."}
	tx := promtext.Family{Name: "node_network_transmit_bytes_total", Type: promtext.Counter,
		Help: "Network device statistic transmit_bytes."}
	names := make([]string, 0, len(dev))
	for n := range dev {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		l := promtext.L("device", n)
		rx.Samples = append(rx.Samples, promtext.Sample{Labels: l, Value: float64(dev[n].RxBytes)})
		tx.Samples = append(tx.Samples, promtext.Sample{Labels: l, Value: float64(dev[n].TxBytes)})
	}
	return []promtext.Family{rx, tx}
}

func gauge(name, help string, v *uint64) promtext.Family {
	f := promtext.Family{Name: name, Type: promtext.Gauge, Help: help}
	if v != nil {
		f.Samples = []promtext.Sample{{Value: float64(*v)}}
	}
	return f
}

func gaugeF(name, help string, v *float64) promtext.Family {
	f := promtext.Family{Name: name, Type: promtext.Gauge, Help: help}
	if v != nil {
		f.Samples = []promtext.Sample{{Value: *v}}
	}
	return f
}

func counterF(name, help string, v *float64) promtext.Family {
	f := gaugeF(name, help, v)
	f.Type = promtext.Counter
	return f
}

// readFileNr reads /proc/sys/fs/file-nr: allocated, unused (always 0 since
// Linux 2.6), maximum.
func readFileNr(path string) ([2]float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return [2]float64{}, err
	}
	f := strings.Fields(string(b))
	if len(f) != 3 {
		return [2]float64{}, fmt.Errorf("%s: want 3 fields, got %q", path, b)
	}
	alloc, err1 := strconv.ParseFloat(f[0], 64)
	max, err2 := strconv.ParseFloat(f[2], 64)
	if err := errors.Join(err1, err2); err != nil {
		return [2]float64{}, fmt.Errorf("%s: %w", path, err)
	}
	return [2]float64{alloc, max}, nil
}

// mergeFamilies appends add to fams, merging samples into a family of the
// same name that is already there.
func mergeFamilies(fams, add []promtext.Family) []promtext.Family {
	for _, a := range add {
		merged := false
		for i := range fams {
			if fams[i].Name == a.Name {
				fams[i].Samples = append(fams[i].Samples, a.Samples...)
				merged = true
				break
			}
		}
		if !merged {
			fams = append(fams, a)
		}
	}
	return fams
}

// cgroupMounts finds where the unified (v2) hierarchy is mounted (else
// /sys/fs/cgroup) and, on a v1 or hybrid host, the v1 hierarchies that hold
// the cpu and the memory controllers ("" if none).
func cgroupMounts(fs procfs.FS) (v2, v1cpu, v1mem string) {
	v2 = "/sys/fs/cgroup"
	self, err := fs.Self()
	if err != nil {
		return v2, "", ""
	}
	mis, err := self.MountInfo()
	if err != nil {
		return v2, "", ""
	}
	for _, mi := range mis {
		switch mi.FSType {
		case "cgroup2":
			v2 = mi.MountPoint
		case "cgroup":
			if _, ok := mi.SuperOptions["cpu"]; ok && v1cpu == "" {
				v1cpu = mi.MountPoint
			}
			if _, ok := mi.SuperOptions["memory"]; ok && v1mem == "" {
				v1mem = mi.MountPoint
			}
		}
	}
	return v2, v1cpu, v1mem
}

var errUnlimited = errors.New("unlimited")

// parseCPUMax parses cpu.max ("max 100000" or "150000 100000") into cores.
func parseCPUMax(b []byte) (float64, error) {
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0, fmt.Errorf("cpu.max: want 2 fields, got %q", b)
	}
	if f[0] == "max" {
		return 0, errUnlimited
	}
	quota, err1 := strconv.ParseFloat(f[0], 64)
	period, err2 := strconv.ParseFloat(f[1], 64)
	if err := errors.Join(err1, err2); err != nil || period <= 0 {
		return 0, fmt.Errorf("cpu.max: %q", b)
	}
	return quota / period, nil
}

// readCgroup reads a cgroup v2 directory's cpu.stat, cpu.max,
// memory.current and memory.max. cpu.stat must be there; the others are
// present only where their controller is enabled, and a limit of "max" is
// left out (there is none to chart).
func readCgroup(c cgroupDir) ([]promtext.Family, error) {
	l := promtext.L("cgroup", c.name)
	one := func(name string, typ promtext.Type, help string, v float64) promtext.Family {
		return promtext.Family{Name: name, Type: typ, Help: help, Samples: []promtext.Sample{{Labels: l, Value: v}}}
	}
	b, err := os.ReadFile(filepath.Join(c.dir, "cpu.stat"))
	if err != nil {
		return nil, err
	}
	st := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok {
			if n, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				st[k] = n
			}
		}
	}
	usage, ok := st["usage_usec"]
	if !ok {
		return nil, fmt.Errorf("%s: no usage_usec", filepath.Join(c.dir, "cpu.stat"))
	}
	fams := []promtext.Family{
		one("surge_cgroup_cpu_usage_seconds_total", promtext.Counter, "CPU time used by the cgroup's processes (cpu.stat usage_usec).", usage/1e6),
	}
	if v, ok := st["user_usec"]; ok {
		fams = append(fams, one("surge_cgroup_cpu_user_seconds_total", promtext.Counter, "User CPU time of the cgroup (cpu.stat user_usec).", v/1e6))
	}
	if v, ok := st["system_usec"]; ok {
		fams = append(fams, one("surge_cgroup_cpu_system_seconds_total", promtext.Counter, "System CPU time of the cgroup (cpu.stat system_usec).", v/1e6))
	}
	if v, ok := st["nr_periods"]; ok {
		fams = append(fams, one("surge_cgroup_cpu_periods_total", promtext.Counter, "Enforcement periods of the CPU quota that elapsed (cpu.stat nr_periods).", v))
	}
	if v, ok := st["nr_throttled"]; ok {
		fams = append(fams, one("surge_cgroup_cpu_throttled_periods_total", promtext.Counter, "Periods in which the cgroup was throttled by its quota (cpu.stat nr_throttled).", v))
	}
	if v, ok := st["throttled_usec"]; ok {
		fams = append(fams, one("surge_cgroup_cpu_throttled_seconds_total", promtext.Counter, "Time the cgroup spent throttled (cpu.stat throttled_usec).", v/1e6))
	}
	if b, err := os.ReadFile(filepath.Join(c.dir, "cpu.max")); err == nil {
		if cores, err := parseCPUMax(b); err == nil {
			fams = append(fams, one("surge_cgroup_cpu_limit_cores", promtext.Gauge, "The cgroup's CPU quota in cores (cpu.max); absent when unlimited.", cores))
		}
	}
	if v, err := readUint(filepath.Join(c.dir, "memory.current")); err == nil {
		fams = append(fams, one("surge_cgroup_memory_current_bytes", promtext.Gauge, "Memory used by the cgroup (memory.current).", v))
	}
	if v, err := readUint(filepath.Join(c.dir, "memory.max")); err == nil {
		fams = append(fams, one("surge_cgroup_memory_max_bytes", promtext.Gauge, "The cgroup's memory limit (memory.max); absent when unlimited.", v))
	}
	return fams, nil
}

// readUint reads a file holding one number ("max" is errUnlimited).
func readUint(path string) (float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return 0, errUnlimited
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return float64(v), nil
}
