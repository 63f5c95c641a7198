// Package seed holds the committed seed data of the state store: the
// category catalogue (categories.yaml, embedded and applied by the backends
// at Open) and the demo accounts that `make run` creates (Demo).
package seed

import (
	_ "embed"
	"fmt"
	"regexp"

	"gopkg.in/yaml.v3"

	"github.com/beaconlive/beacon/store"
)

//go:embed categories.yaml
var categoriesYAML []byte

var slugRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// Categories returns the committed category catalogue, validated: ids are
// positive and unique, slugs are unique kebab-case, kind is game or format.
func Categories() ([]store.Category, error) {
	return ParseCategories(categoriesYAML)
}

// ParseCategories parses and validates a category catalogue in YAML.
func ParseCategories(data []byte) ([]store.Category, error) {
	var cs []store.Category
	if err := yaml.Unmarshal(data, &cs); err != nil {
		return nil, fmt.Errorf("seed: categories: %w", err)
	}
	ids := map[store.CategoryID]bool{}
	slugs := map[string]bool{}
	for i, c := range cs {
		switch {
		case c.ID <= 0:
			return nil, fmt.Errorf("seed: category %d: id must be positive", i+1)
		case ids[c.ID]:
			return nil, fmt.Errorf("seed: category %d: duplicate id %d", i+1, c.ID)
		case !slugRE.MatchString(c.Slug) || len(c.Slug) > 64:
			return nil, fmt.Errorf("seed: category %d: slug %q is not kebab-case", i+1, c.Slug)
		case slugs[c.Slug]:
			return nil, fmt.Errorf("seed: category %d: duplicate slug %q", i+1, c.Slug)
		case c.Kind != "game" && c.Kind != "format":
			return nil, fmt.Errorf("seed: category %d: kind must be game or format", i+1)
		}
		if _, err := store.ValidateText("name", c.Name, 100, false); err != nil || c.Name == "" {
			return nil, fmt.Errorf("seed: category %d: bad name", i+1)
		}
		ids[c.ID], slugs[c.Slug] = true, true
	}
	return cs, nil
}
