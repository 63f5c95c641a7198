package mediabench

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteTable writes the result for people: the figures with what they
// measure, the ramp table, and the notes on method.
func (r *Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Beacon media benchmark (%d cores, %v)\n\n", r.Cores, r.Elapsed.Round(100_000_000))
	fmt.Fprintln(tw, "FIGURE\tVALUE\tUNIT\tWHAT")
	for _, m := range r.Metrics {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.Name, formatValue(m.Value), m.Unit, m.Help)
	}
	if len(r.Steps) > 0 {
		fmt.Fprintln(tw, "\nPassthrough ramp (ladder off, sampler on):")
		fmt.Fprintln(tw, "STREAMS\tSERVER\tSAMPLERS\tPER STREAM\tLOADGEN\tMACHINE\tSERVER RSS/STREAM\tSAMPLER RSS (PSS)/STREAM\tOK\tSEGMENTS\tNOT READY")
		for _, s := range r.Steps {
			n := float64(s.Streams)
			fmt.Fprintf(tw, "%d\t%.2f cores\t%.2f cores\t%.2f %%core\t%.2f cores\t%.2f/%d cores\t%.1f MB\t%.1f (%.1f) MB\t%d/%d\t%d/%d\t%d\n",
				s.Streams, s.ServerCores, s.SamplerCores, (s.ServerCores+s.SamplerCores)/n*100, s.LoadGenCores,
				s.MachineCores, r.Cores, float64(s.ServerRSSDelta)/n/1e6, float64(s.SamplerRSS)/n/1e6, float64(s.SamplerPSS)/n/1e6,
				s.StreamsOK, s.Streams, s.Segments, s.SegmentsExpected, s.NotReady)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Notes) > 0 {
		fmt.Fprintln(w, "\nNotes:")
		for _, n := range r.Notes {
			if _, err := fmt.Fprintf(w, "  - %s\n", n); err != nil {
				return err
			}
		}
	}
	return nil
}

// WriteBenchLines writes one line per metric in the Go benchmark format,
// "<prefix>/<name> 1 <value> <unit>", so `make bench` output stays uniform
// and benchstat can read it.
func (r *Result) WriteBenchLines(w io.Writer, prefix string) error {
	for _, m := range r.Metrics {
		if math.IsNaN(m.Value) || math.IsInf(m.Value, 0) {
			continue
		}
		if _, err := fmt.Fprintf(w, "%s/%s 1 %s %s\n", prefix, benchName(m.Name),
			strconv.FormatFloat(m.Value, 'g', 6, 64), strings.Join(strings.Fields(m.Unit), "-")); err != nil {
			return err
		}
	}
	return nil
}

// benchName keeps a metric name to the characters benchmark names use.
func benchName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '/', r == '-', r == '.':
			return r
		}
		return '_'
	}, s)
}

func formatValue(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "-"
	case v == math.Trunc(v) && math.Abs(v) < 1e9:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
}
