package moderation_test

import (
	"context"
	"fmt"
	"os"

	"github.com/beaconlive/beacon/moderation"
)

// Evidence keeps a flagged frame's JPEG for review and hands it back to the
// API by URI; ids that could escape the directory are refused.
func ExampleEvidence() {
	dir, err := os.MkdirTemp("", "evidence")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	ev, err := moderation.NewEvidence(moderation.EvidenceConfig{Dir: dir, MaxBytes: 64 << 20})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ev.Close()

	uri, _ := ev.Put(context.Background(), "42", "frame-7", []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 0})
	fmt.Println(uri)
	jpeg, _ := ev.Open(uri)
	fmt.Println(len(jpeg), "bytes")
	_, err = ev.Put(context.Background(), "42", "../../etc/passwd", []byte{0xFF, 0xD8, 0xFF, 0xE0})
	fmt.Println(err != nil)
	// Output:
	// evidence:frames/42/frame-7.jpg
	// 6 bytes
	// true
}
