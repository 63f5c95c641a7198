// Package browser drives Debian's headless Chromium for page tests.
package browser

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/beaconlive/beacon/internal/testenv"
)

// New starts a headless Chromium (skipped outside CI when it is missing,
// failed under CI) and returns a browser context closed with the test. The
// flags keep it off the network: this machine reaches only package registries.
func New(t *testing.T) context.Context {
	t.Helper()
	exe := testenv.Command(t, "chromium")
	opts := append([]chromedp.ExecAllocatorOption{},
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("mute-audio", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if _, err := chromedp.Run(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("browser: start chromium: %v", err)
	}
	return ctx
}
