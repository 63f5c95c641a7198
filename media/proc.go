package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ffproc is one running ffmpeg process with its pipes.
type ffproc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout io.ReadCloser // nil unless asked for
	extra  []*os.File    // read ends of fds 3, 4, ... (nil unless asked for)
	stderr *tailBuffer
	exited chan struct{} // closed when the process has exited
	err    error         // Wait's error, valid once exited is closed
}

// startFFmpeg starts path with args, stdin as a pipe, stdout as a pipe when
// stdout is true, and extraOut more output pipes as fds 3, 4, ... The
// process is killed when ctx ends.
func startFFmpeg(ctx context.Context, path string, args []string, stdout bool, extraOut int) (*ffproc, error) {
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.WaitDelay = 2 * time.Second
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p := &ffproc{cmd: cmd, stderr: &tailBuffer{max: 4096}, exited: make(chan struct{})}
	cmd.Stderr = p.stderr
	var err error
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	if stdout {
		if p.stdout, err = cmd.StdoutPipe(); err != nil {
			return nil, err
		}
	}
	var writeEnds []*os.File
	closeAll := func() {
		for _, f := range writeEnds {
			_ = f.Close()
		}
		for _, f := range p.extra {
			_ = f.Close()
		}
	}
	for range extraOut {
		r, w, err := os.Pipe()
		if err != nil {
			closeAll()
			return nil, err
		}
		p.extra = append(p.extra, r)
		writeEnds = append(writeEnds, w)
	}
	cmd.ExtraFiles = writeEnds
	if err := cmd.Start(); err != nil {
		closeAll()
		return nil, fmt.Errorf("media: starting %s: %w", path, err)
	}
	for _, f := range writeEnds {
		_ = f.Close() // the child has its copy
	}
	go func() {
		p.err = cmd.Wait()
		for _, f := range p.extra {
			_ = f.Close()
		}
		close(p.exited)
	}()
	return p, nil
}

// pid returns the process id.
func (p *ffproc) pid() int { return p.cmd.Process.Pid }

// exitError describes how the process ended, with the tail of its stderr.
func (p *ffproc) exitError() error {
	msg := strings.TrimSpace(p.stderr.String())
	if msg != "" {
		return fmt.Errorf("media: ffmpeg exited (%v): %s", p.err, msg)
	}
	return fmt.Errorf("media: ffmpeg exited (%v)", p.err)
}

// stop closes stdin, waits up to grace for the process to exit and kills it
// after that.
func (p *ffproc) stop(grace time.Duration) {
	_ = p.stdin.Close()
	select {
	case <-p.exited:
		return
	case <-time.After(grace):
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// supervise calls run until ctx ends, pausing between runs with an
// exponential backoff from min to max that resets once a run lasted a
// minute. onRestart is called before every restart.
func supervise(ctx context.Context, log *slog.Logger, minB, maxB time.Duration,
	run func(ctx context.Context) error, onRestart func(err error)) {
	backoff := minB
	for {
		start := time.Now()
		err := run(ctx)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > time.Minute {
			backoff = minB
		}
		if err == nil {
			err = errors.New("media: process ended")
		}
		log.Warn("ffmpeg stopped; restarting", "error", err, "backoff", backoff)
		if onRestart != nil {
			onRestart(err)
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, maxB)
	}
}
