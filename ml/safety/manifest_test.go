package safety

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// TestDefaultsMatchManifest keeps the Go defaults in step with the
// thresholds and labels the notebooks wrote to models/manifest.yaml.
func TestDefaultsMatchManifest(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(modelsDir, "manifest.yaml"))
	require.NoError(t, err)
	var man struct {
		Models map[string]struct {
			Labels     []string           `yaml:"labels"`
			Thresholds map[string]float32 `yaml:"thresholds"`
		} `yaml:"models"`
	}
	require.NoError(t, yaml.Unmarshal(b, &man))
	chat, frame := man.Models[ChatModelName], man.Models[FrameModelName]
	require.Equal(t, ChatLabels[:], chat.Labels)
	require.Equal(t, map[string]float32{"unsafe": DefaultUnsafeThreshold}, chat.Thresholds)
	require.Equal(t, FrameLabels[:], frame.Labels)
	require.Equal(t, DefaultFrameThresholds(), frame.Thresholds)
}
