package kafkabus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/beaconlive/beacon/bus"
)

// privateBroker is a broker of its own, started with scripts/engine-kafka.sh
// on free ports and a temporary data dir, so that a test can stop and restart
// it without disturbing the shared test broker.
type privateBroker struct {
	script string
	env    []string
	addr   string
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

func startPrivateBroker(t *testing.T) *privateBroker {
	t.Helper()
	brokers(t) // the engines are expected: skip outside `make test`, fail under CI
	script, err := filepath.Abs("../../scripts/engine-kafka.sh")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	port := freePort(t)
	pb := &privateBroker{
		script: script,
		addr:   "127.0.0.1:" + port,
		env: append(os.Environ(),
			"KAFKA_STATE_DIR="+dir,
			"KAFKA_BROKER_PORT="+port,
			"KAFKA_CONTROLLER_PORT="+freePort(t),
			"KAFKA_ENV_FILE="+filepath.Join(dir, "kafka.env"),
			"KAFKA_HEAP_OPTS=-Xms128m -Xmx384m",
			"KAFKA_START_TIMEOUT=45",
		),
	}
	pb.run(t, "start")
	t.Cleanup(func() { pb.run(t, "stop") })
	return pb
}

func (pb *privateBroker) run(t *testing.T, verb string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", pb.script, verb)
	cmd.Env = pb.env
	cmd.WaitDelay = time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("engine-kafka.sh %s: %v\n%s", verb, err, out)
	}
	t.Logf("engine-kafka.sh %s: %v", verb, time.Since(start).Round(time.Millisecond))
}

// The broker stops mid-stream (a clean stop, or SIGKILL as in a crash) and
// comes back: the producer retries, every message Publish accepted is
// delivered, and the consumer group resumes from its committed offsets (kept
// on the broker's disk across the restart).
func TestBrokerRestartMidStream(t *testing.T) {
	t.Parallel()
	pb := startPrivateBroker(t)
	// One after the other on the same broker: two JVMs starting at once on a
	// small machine would make both slow.
	for _, outage := range []string{"stop", "kill"} {
		t.Run(outage, func(t *testing.T) { testBrokerRestart(t, pb, outage) })
	}
}

func testBrokerRestart(t *testing.T, pb *privateBroker, outage string) {
	testStart := time.Now()
	topic := uniqueName(t, "topic")
	group := uniqueName(t, "group")
	b := newTestBus(t, []bus.TopicConfig{{Name: topic, Partitions: 4}}, func(c *Config) {
		c.Brokers = []string{pb.addr}
		c.RetryBackoffMax = 500 * time.Millisecond
		c.SessionTimeout = 6 * time.Second // the broker's minimum: a lost member is noticed sooner
	})

	// A second bus is closed during the outage, while its Publish retries.
	closing := newTestBus(t, []bus.TopicConfig{{Name: topic, Partitions: 4}}, func(c *Config) { c.Brokers = []string{pb.addr} })

	// Consumer: counts deliveries per id.
	var mu sync.Mutex
	delivered := map[int]int{}
	total := 0
	handler := func(_ context.Context, m bus.Message) error {
		id, err := strconv.Atoi(string(m.Value))
		if err != nil {
			return fmt.Errorf("bad value %q", m.Value)
		}
		mu.Lock()
		delivered[id]++
		total++
		mu.Unlock()
		return nil
	}
	stopSub := subscribe(t, b, group, topic, handler)

	// Producer: publishes batches of 10 ids and remembers those accepted.
	var accepted []int
	var acceptedMu sync.Mutex
	acceptedN := func() int { acceptedMu.Lock(); defer acceptedMu.Unlock(); return len(accepted) }
	prodCtx, stopProd := context.WithCancel(context.Background())
	prodDone := make(chan error, 1)
	go func() {
		for next := 0; ; next += 10 {
			var msgs []bus.Message
			for id := next; id < next+10; id++ {
				msgs = append(msgs, bus.Message{Topic: topic, Key: []byte(fmt.Sprintf("channel-%d", id%17)), Value: []byte(strconv.Itoa(id))})
			}
			if err := b.Publish(prodCtx, msgs...); err != nil {
				if prodCtx.Err() != nil {
					prodDone <- nil
				} else {
					prodDone <- err
				}
				return
			}
			acceptedMu.Lock()
			for id := next; id < next+10; id++ {
				accepted = append(accepted, id)
			}
			acceptedMu.Unlock()
			time.Sleep(2 * time.Millisecond)
		}
	}()
	waitFor := func(what string, d time.Duration, cond func() bool) {
		t.Helper()
		start := time.Now()
		deadline := start.Add(d)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out after %v waiting for %s", d, what)
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("%s: %v", what, time.Since(start).Round(time.Millisecond))
	}

	waitFor("1000 messages before the outage", 15*time.Second, func() bool { return acceptedN() >= 1000 })
	pb.run(t, outage)
	atStop := acceptedN()
	// The producer keeps trying against the dead broker. Meanwhile, Close
	// ends a Publish and a Subscribe of the other bus promptly.
	pubErr, subErr := make(chan error, 1), make(chan error, 1)
	go func() {
		pubErr <- closing.Publish(context.Background(), bus.Message{Topic: topic, Value: []byte("never")})
	}()
	go func() {
		subErr <- closing.Subscribe(context.Background(), group+".closing", topic, func(context.Context, bus.Message) error { return nil })
	}()
	time.Sleep(time.Second)
	closeStart := time.Now()
	if err := closing.Close(); err != nil {
		t.Errorf("Close during the outage: %v", err)
	}
	if d := time.Since(closeStart); d > 15*time.Second {
		t.Errorf("Close during the outage took %v", d)
	}
	t.Logf("Close during the outage took %v", time.Since(closeStart).Round(time.Millisecond))
	if err := <-pubErr; !errors.Is(err, bus.ErrClosed) {
		t.Errorf("Publish interrupted by Close returned %v, want bus.ErrClosed", err)
	}
	if err := <-subErr; !errors.Is(err, bus.ErrClosed) {
		t.Errorf("Subscribe interrupted by Close returned %v, want bus.ErrClosed", err)
	}
	if n := acceptedN(); n > atStop+10 {
		t.Fatalf("%d messages accepted while the broker was down", n-atStop)
	}
	pb.run(t, "start")
	waitFor("1000 messages after the restart", 30*time.Second, func() bool { return acceptedN() >= atStop+1000 })
	stopProd()
	if err := <-prodDone; err != nil {
		t.Fatalf("Publish failed instead of retrying: %v", err)
	}
	acceptedMu.Lock()
	ids := append([]int(nil), accepted...)
	acceptedMu.Unlock()

	// Nothing accepted is lost.
	waitFor("every accepted message to be delivered", 30*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, id := range ids {
			if delivered[id] == 0 {
				return false
			}
		}
		return true
	})
	// Let the stream settle (messages written by the last, cancelled Publish
	// may still arrive), then stop the consumer, which commits.
	last := -1
	waitFor("the consumer to go quiet", 15*time.Second, func() bool {
		mu.Lock()
		n := total
		mu.Unlock()
		quiet := n == last
		last = n
		time.Sleep(300 * time.Millisecond)
		return quiet
	})
	if err := stopSub(); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	mu.Lock()
	dups := total - len(delivered)
	mu.Unlock()
	t.Logf("accepted %d messages (%d before the outage), delivered %d times, %d redeliveries", len(ids), atStop, total, dups)
	if dups > atStop {
		t.Fatalf("%d redeliveries: the consumer did not resume from its committed offsets", dups)
	}

	// The group's committed offsets survived the restart: a new member gets
	// only what is new.
	c := newCollector()
	subscribe(t, b, group, topic, c.handle)
	if err := b.Publish(context.Background(), bus.Message{Topic: topic, Key: []byte("marker"), Value: []byte("marker")}); err != nil {
		t.Fatal(err)
	}
	c.waitN(t, 1, 30*time.Second)
	time.Sleep(time.Second)
	if msgs := c.snapshot(); len(msgs) != 1 || string(msgs[0].Value) != "marker" {
		t.Fatalf("a new member of the group got %d messages starting with %q, want only the marker", len(msgs), msgs[0].Value)
	}
	t.Logf("fault test took %v", time.Since(testStart).Round(time.Millisecond))
}
