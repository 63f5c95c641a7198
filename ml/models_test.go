package ml

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

const modelsDir = "../models"

// Manifest is models/manifest.yaml.
type Manifest struct {
	Models map[string]struct {
		File       string             `yaml:"file"`
		Card       string             `yaml:"card"`
		Notebook   string             `yaml:"notebook"`
		SHA256     string             `yaml:"sha256"`
		Labels     []string           `yaml:"labels"`
		Thresholds map[string]float64 `yaml:"thresholds"`
	} `yaml:"models"`
}

var cardSHA = regexp.MustCompile("\\*\\*sha256:\\*\\* `([0-9a-f]{64})`")

func fileSHA(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func TestModelsMatchTheirCards(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(modelsDir, "*.onnx"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			card := strings.TrimSuffix(f, ".onnx") + ".md"
			text, err := os.ReadFile(card)
			require.NoError(t, err, "every model needs a card")
			m := cardSHA.FindSubmatch(text)
			require.NotNil(t, m, "%s has no **sha256:** line", card)
			require.Equal(t, string(m[1]), fileSHA(t, f), "%s does not match its card (re-run `make models`)", f)
		})
	}
}

func TestManifest(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(modelsDir, "manifest.yaml"))
	require.NoError(t, err)
	var man Manifest
	require.NoError(t, yaml.Unmarshal(b, &man))
	files, err := filepath.Glob(filepath.Join(modelsDir, "*.onnx"))
	require.NoError(t, err)
	require.Len(t, man.Models, len(files), "one manifest entry per model file")
	for name, m := range man.Models {
		t.Run(name, func(t *testing.T) {
			require.Equal(t, fileSHA(t, filepath.Join(modelsDir, m.File)), m.SHA256)
			require.FileExists(t, filepath.Join(modelsDir, m.Card))
			require.FileExists(t, filepath.Join("..", m.Notebook))
			require.NotEmpty(t, m.Labels)
			for label := range m.Thresholds {
				require.True(t, label == "unsafe" || contains(m.Labels, label), "threshold for unknown label %q", label)
			}
		})
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
