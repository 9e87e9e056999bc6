// Package machine describes the machine and build a benchmark ran on, for
// the header of its report.
package machine

import (
	"os"
	"runtime/debug"
	"strings"
)

// Command returns how the program was run: "go run ./NAME" and its
// arguments.
func Command(name string) string {
	return strings.Join(append([]string{"go run ./" + name}, os.Args[1:]...), " ")
}

// PahoVersions names the paho modules built in, from the build information.
func PahoVersions() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "paho versions unknown"
	}
	var vs []string
	for _, d := range info.Deps {
		if strings.HasPrefix(d.Path, "github.com/eclipse/paho") {
			vs = append(vs, strings.TrimPrefix(d.Path, "github.com/eclipse/")+" "+d.Version)
		}
	}
	return strings.Join(vs, ", ")
}

// CPUModel returns ", " and the CPU's model name on Linux, or "".
func CPUModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		if name, ok := strings.CutPrefix(line, "model name"); ok {
			return ", " + strings.TrimSpace(strings.TrimLeft(name, " \t:"))
		}
	}
	return ""
}
