//go:build !linux

package e2e

import "os/exec"

// setParentDeathSignal does nothing outside Linux, where there is no
// parent-death signal; t.Cleanup still kills every child.
func setParentDeathSignal(*exec.Cmd) {}
