package kafkabus

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/beaconlive/beacon/bus"
)

// kcat runs Debian's kcat (a librdkafka client no one here wrote) against the
// test broker. Under CI a missing kcat fails the test.
func kcat(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("kcat")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("kcat is not installed (scripts/deps.sh installs it): %v", err)
		}
		t.Skipf("kcat is not installed: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.WaitDelay = 2 * time.Second
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kcat %q: %v\nstderr:\n%s", args, err, stderr.String())
	}
	return stdout.String()
}

// kcat consumes what Beacon produced: keys, values, headers and partitions
// come out as Beacon put them in.
func TestKcatConsumesBeaconTopic(t *testing.T) {
	t.Parallel()
	brokerList := strings.Join(brokers(t), ",")
	topic := uniqueName(t, "topic")
	const n, partitions = 300, 4
	b := newTestBus(t, []bus.TopicConfig{{Name: topic, Partitions: partitions}})
	want := map[string]string{} // value → key
	var msgs []bus.Message
	for i := range n {
		key, value := fmt.Sprintf("channel-%d", i%13), fmt.Sprintf("message-%d", i)
		want[value] = key
		msgs = append(msgs, bus.Message{Topic: topic, Key: []byte(key), Value: []byte(value),
			Headers: map[string]string{"schema": "beacon.test.v1"}})
	}
	if err := b.Publish(context.Background(), msgs...); err != nil {
		t.Fatal(err)
	}

	out := kcat(t, "", "-C", "-b", brokerList, "-t", topic, "-o", "beginning", "-e", "-q",
		"-f", `%p|%o|%k|%s|%h\n`)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != n {
		t.Fatalf("kcat read %d messages, want %d:\n%s", len(lines), n, out)
	}
	lastSeq := map[string]int{}
	for _, line := range lines {
		f := strings.Split(line, "|")
		if len(f) != 5 {
			t.Fatalf("kcat line %q: want 5 fields", line)
		}
		partition, _ := strconv.Atoi(f[0])
		key, value, headers := f[2], f[3], f[4]
		wantKey, ok := want[value]
		if !ok {
			t.Fatalf("kcat read unexpected value %q", value)
		}
		delete(want, value)
		if key != wantKey {
			t.Errorf("value %q: kcat decoded key %q, want %q", value, key, wantKey)
		}
		if p := bus.PartitionFor([]byte(key), partitions); partition != p {
			t.Errorf("key %q is in partition %d, want %d", key, partition, p)
		}
		if headers != "schema=beacon.test.v1" {
			t.Errorf("value %q: kcat headers %q", value, headers)
		}
		// Within a key, kcat sees Beacon's publish order.
		seq, _ := strconv.Atoi(strings.TrimPrefix(value, "message-"))
		if last, ok := lastSeq[key]; ok && seq <= last {
			t.Errorf("key %q: message %d after %d", key, seq, last)
		}
		lastSeq[key] = seq
	}
	if len(want) != 0 {
		t.Fatalf("kcat missed %d messages", len(want))
	}
}

// Beacon consumes what kcat produced.
func TestBeaconConsumesKcatMessages(t *testing.T) {
	t.Parallel()
	brokerList := strings.Join(brokers(t), ",")
	topic := uniqueName(t, "topic")
	b := newTestBus(t, []bus.TopicConfig{{Name: topic, Partitions: 3}})
	kcat(t, "hello from kcat\nsecond line\nthird line\n",
		"-P", "-b", brokerList, "-t", topic, "-k", "channel-42", "-H", "schema=kcat.v1")

	c := newCollector()
	subscribe(t, b, uniqueName(t, "group"), topic, c.handle)
	msgs := c.waitN(t, 3, 30*time.Second)
	var values []string
	for _, m := range msgs {
		values = append(values, string(m.Value))
		if string(m.Key) != "channel-42" || m.Headers["schema"] != "kcat.v1" || m.Partition != msgs[0].Partition {
			t.Errorf("got %+v", m)
		}
	}
	if got := strings.Join(values, "|"); got != "hello from kcat|second line|third line" {
		t.Fatalf("values %q", got)
	}
}
