//go:build !linux

package bleveindex

import "errors"

// exchange is not available outside Linux: swapDirs falls back to renames.
func exchange(a, b string) error {
	return errors.New("bleveindex: atomic directory exchange unsupported")
}
