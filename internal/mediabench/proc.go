package mediabench

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of the CPU times in /proc (100 on every
// Linux architecture Beacon runs on).
const clockTicks = 100

// procSample is one reading of /proc/<pid>/stat.
type procSample struct {
	// CPU is utime+stime in seconds.
	CPU float64
	// RSS is the resident set size in bytes.
	RSS int64
}

// readProc reads the CPU time and resident memory of a process.
func readProc(pid int) (procSample, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procSample{}, fmt.Errorf("mediabench: reading process %d: %w", pid, err)
	}
	return parseStat(string(b))
}

// parseStat parses the content of /proc/<pid>/stat. The command name (field
// 2) may contain spaces and parentheses, so fields are counted after the
// last ')'.
func parseStat(s string) (procSample, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 > len(s) {
		return procSample{}, fmt.Errorf("mediabench: malformed /proc stat %q", s)
	}
	f := strings.Fields(s[i+2:])
	// f[0] is field 3 (state): utime is field 14, stime 15, rss 24.
	if len(f) < 22 {
		return procSample{}, fmt.Errorf("mediabench: short /proc stat (%d fields)", len(f))
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	rss, err3 := strconv.ParseInt(f[21], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return procSample{}, fmt.Errorf("mediabench: malformed /proc stat numbers")
	}
	return procSample{CPU: float64(ut+st) / clockTicks, RSS: rss * int64(os.Getpagesize())}, nil
}

// machineCPU is the aggregate line of /proc/stat: busy and total seconds of
// all cores together.
type machineCPU struct{ busy, total float64 }

func readMachineCPU() (machineCPU, error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return machineCPU{}, fmt.Errorf("mediabench: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return machineCPU{}, fmt.Errorf("mediabench: empty /proc/stat")
	}
	return parseMachineCPU(sc.Text())
}

func parseMachineCPU(line string) (machineCPU, error) {
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return machineCPU{}, fmt.Errorf("mediabench: malformed /proc/stat line %q", line)
	}
	var m machineCPU
	for i, v := range f[1:] {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return machineCPU{}, fmt.Errorf("mediabench: malformed /proc/stat line %q", line)
		}
		if i >= 8 { // guest time is already counted in user
			break
		}
		m.total += n / clockTicks
		if i != 3 && i != 4 { // idle, iowait
			m.busy += n / clockTicks
		}
	}
	return m, nil
}

// readPSS returns the proportional set size of a process (its private
// memory plus its share of pages mapped by several processes, such as the
// ffmpeg libraries), from /proc/<pid>/smaps_rollup.
func readPSS(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		return 0, fmt.Errorf("mediabench: reading process %d: %w", pid, err)
	}
	return parsePSS(string(b))
}

func parsePSS(s string) (int64, error) {
	for _, l := range strings.Split(s, "\n") {
		if v, ok := strings.CutPrefix(l, "Pss:"); ok {
			f := strings.Fields(v)
			if len(f) == 2 && f[1] == "kB" {
				n, err := strconv.ParseInt(f[0], 10, 64)
				if err == nil {
					return n * 1024, nil
				}
			}
		}
	}
	return 0, fmt.Errorf("mediabench: no Pss in smaps_rollup")
}
