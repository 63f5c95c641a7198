package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBenchCommand(t *testing.T) {
	for _, ca := range []struct {
		name   string
		args   []string
		err    error
		stdout string
		stderr string
	}{
		{"lists the benchmarks", []string{"bench"}, nil, "  media ", ""},
		{"help", []string{"bench", "-h"}, nil, "Whole-system benchmarks:", ""},
		{"unknown benchmark", []string{"bench", "nope"}, errUsage, "", `unknown benchmark "nope"`},
		{"all takes no flags", []string{"bench", "all", "-streams", "1"}, errUsage, "", "takes no flags"},
		{"media flag help", []string{"bench", "media", "-h"}, nil, "", "-streams"},
		{"media bad skip", []string{"bench", "media", "-skip", "everything"}, errUsage, "", `unknown part "everything"`},
		{"media bad streams", []string{"bench", "media", "-streams", "10,x"}, errUsage, "", "-streams"},
		{"media bad size", []string{"bench", "media", "-size", "720p"}, errUsage, "", "WIDTHxHEIGHT"},
		{"media stray argument", []string{"bench", "media", "extra"}, errUsage, "", `unexpected argument "extra"`},
	} {
		t.Run(ca.name, func(t *testing.T) {
			out, errOut, err := ctl(t, ca.args...)
			if ca.err != nil {
				require.ErrorIs(t, err, ca.err)
			} else {
				require.NoError(t, err)
			}
			require.Contains(t, out, ca.stdout)
			require.Contains(t, errOut, ca.stderr)
		})
	}
}
