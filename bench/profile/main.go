// Command profile runs one quick-mode load test in-process, as `surge run`
// does, and writes a CPU (and optionally heap) profile of it, for finding
// where the generator's time goes:
//
//	go run ./bench/profile -u http://127.0.0.1:18080/ -vus 50 -d 5s -cpuprofile /tmp/cpu.out
//	go tool pprof -top /tmp/cpu.out
//
// It prints requests, CPU time (user+sys) per request and the error count.
// Traffic goes wherever -u points: keep it on 127.0.0.1.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/surgeload/surge"
	"github.com/surgeload/surge/bench/internal/procstat"
)

func main() {
	var (
		url        = flag.String("u", "http://127.0.0.1:18080/", "target URL")
		vus        = flag.Int("vus", 50, "closed model with N VUs (unless -rate is set)")
		rate       = flag.Float64("rate", 0, "open model at R requests/s")
		dur        = flag.Duration("d", 5*time.Second, "duration")
		cpuProfile = flag.String("cpuprofile", "", "write a CPU profile to this file")
		memProfile = flag.String("memprofile", "", "write an allocation profile to this file")
		heapAt     = flag.Duration("heapat", 0, "print memory figures (and write -heapprofile) this long into the run")
		heapFile   = flag.String("heapprofile", "", "with -heapat: write an in-use heap profile to this file")
	)
	flag.Parse()
	if *heapAt > 0 {
		go func() {
			time.Sleep(*heapAt)
			reportMemory(*heapFile)
		}()
	}
	if err := run(*url, *vus, *rate, *dur, *cpuProfile, *memProfile); err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		os.Exit(1)
	}
}

func run(url string, vus int, rate float64, dur time.Duration, cpuProfile, memProfile string) error {
	load := surge.Load{VUs: vus, Duration: dur}
	if rate > 0 {
		load = surge.Load{Rate: rate, Duration: dur}
	}
	plan, err := surge.QuickPlan(surge.Request{URL: url}, load)
	if err != nil {
		return err
	}
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	before := cpuTime()
	sum, err := surge.Run(context.Background(), plan)
	if err != nil {
		return err
	}
	used := cpuTime() - before
	n := sum.Totals.Requests
	fmt.Printf("requests %d  rps %.0f  errors %d  cpu %v  cpu/request %.2fµs\n",
		n, sum.Totals.RPS, sum.Totals.Errors, used.Round(time.Millisecond), float64(used.Microseconds())/float64(max(n, 1)))
	for i, m := range sum.Messages {
		if i == 5 {
			break
		}
		fmt.Printf("  error: %s (%d)\n", m.Message, m.Count)
	}
	fmt.Printf("max VUs %d\n", sum.Run.MaxVUs)
	if memProfile != "" {
		f, err := os.Create(memProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		return pprof.Lookup("allocs").WriteTo(f, 0)
	}
	return nil
}

// reportMemory prints the Go runtime's view of memory and the process's RSS.
func reportMemory(heapFile string) {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	fmt.Printf("goroutines %d  heap in use %.1f MiB  stacks %.1f MiB  runtime total %.1f MiB  rss %.1f MiB\n",
		runtime.NumGoroutine(), procstat.MiB(m.HeapInuse), procstat.MiB(m.StackInuse), procstat.MiB(m.Sys), procstat.MiB(procstat.RSS()))
	if heapFile == "" {
		return
	}
	f, err := os.Create(heapFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		return
	}
	defer f.Close()
	runtime.GC() // the profile then shows what is live now
	_ = pprof.Lookup("heap").WriteTo(f, 0)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
