package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// Pinned mode (-pin, the default on a machine with 2 CPUs or more): while
// the server pairs run, the load generator runs on CPU 0 and every server
// under test on CPU 1, so the two never compete for a CPU and each server's
// throughput is what one CPU of it can do. It takes the noise of
// client/server scheduling out of the A/B ratios; other tenants of a shared
// machine can still disturb them. The in-process parts (scrape, batching)
// run afterwards on every CPU again.

const (
	clientCPU = 0
	serverCPU = 1
)

// pinSelf moves every thread of this process to clientCPU and sets
// GOMAXPROCS to 1; threads created later inherit the mask. The returned
// function undoes both.
func pinSelf() (unpin func() error, err error) {
	if runtime.NumCPU() < 2 {
		return nil, fmt.Errorf("-pin needs 2 CPUs, this machine has %d", runtime.NumCPU())
	}
	var orig unix.CPUSet
	if err := unix.SchedGetaffinity(0, &orig); err != nil {
		return nil, fmt.Errorf("-pin: %w", err)
	}
	procs := runtime.GOMAXPROCS(0)
	var set unix.CPUSet
	set.Set(clientCPU)
	if err := setAllThreads(&set); err != nil {
		return nil, err
	}
	runtime.GOMAXPROCS(1)
	return func() error {
		runtime.GOMAXPROCS(procs)
		return setAllThreads(&orig)
	}, nil
}

// setAllThreads sets the CPU affinity of every thread of this process.
func setAllThreads(set *unix.CPUSet) error {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return fmt.Errorf("-pin: %w", err)
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, set); err != nil && err != unix.ESRCH { // ESRCH: the thread exited
			return fmt.Errorf("-pin: thread %d: %w", tid, err)
		}
	}
	return nil
}

// startOnCPU starts cmd with its CPU affinity set to cpu: a child inherits
// the mask of the thread that forks it, so the fork runs on a locked
// thread whose mask is switched to cpu for the duration. The child's Go
// runtime then sees one CPU (GOMAXPROCS 1).
func startOnCPU(cmd *exec.Cmd, cpu int) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var orig, set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &orig); err != nil {
		return err
	}
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return err
	}
	startErr := cmd.Start()
	if err := unix.SchedSetaffinity(0, &orig); err != nil && startErr == nil {
		// The thread would stay on the server's CPU; better not reuse it.
		// Returning without UnlockOSThread makes the runtime discard it.
		return fmt.Errorf("restoring the load generator's CPU: %w", err)
	}
	return startErr
}
