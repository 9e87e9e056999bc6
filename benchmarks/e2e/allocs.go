package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// allocRow is one line of go test -bench output.
type allocRow struct {
	name   string // without the Benchmark prefix and the -GOMAXPROCS suffix
	n      int
	nsOp   float64
	bOp    float64
	allocs float64
}

// runAllocBenchmarks runs the allocation benchmarks of alloc_test.go with
// go test and parses their results. It must be started from benchmarks/
// (or benchmarks/e2e/).
func runAllocBenchmarks(benchtime string, timeout time.Duration) ([]allocRow, error) {
	pkg := ""
	switch {
	case fileExists("e2e/alloc_test.go"):
		pkg = "./e2e"
	case fileExists("alloc_test.go"):
		pkg = "."
	default:
		return nil, errors.New("alloc_test.go not found: run from benchmarks/")
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", ".", "-benchmem",
		"-benchtime", benchtime, "-count", "1", pkg)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("go test: %v: %s", err, lastLines(strings.TrimSpace(string(out)), 5))
	}
	var rows []allocRow
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		r := allocRow{name: strings.TrimPrefix(f[0], "Benchmark")}
		if i := strings.LastIndexByte(r.name, '-'); i > 0 {
			r.name = r.name[:i]
		}
		r.n, _ = strconv.Atoi(f[1])
		for i := 2; i+1 < len(f); i += 2 {
			v, _ := strconv.ParseFloat(f[i], 64)
			switch f[i+1] {
			case "ns/op":
				r.nsOp = v
			case "B/op":
				r.bOp = v
			case "allocs/op":
				r.allocs = v
			}
		}
		rows = append(rows, r)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("go test printed no benchmark: %s", lastLines(strings.TrimSpace(string(out)), 5))
	}
	return rows, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
