package errs

import "fmt"

// ItemsMessage is the message of a per-item error list (bento.ItemErrors,
// batching.ItemErrors): how many of the items failed and the first
// failure, after prefix.
func ItemsMessage(prefix string, items []error) string {
	n, first := 0, -1
	for i, err := range items {
		if err != nil {
			n++
			if first < 0 {
				first = i
			}
		}
	}
	if n == 0 {
		return fmt.Sprintf("%s: no item of %d failed", prefix, len(items))
	}
	return fmt.Sprintf("%s: %d of %d items failed; item %d: %v", prefix, n, len(items), first, items[first])
}

// ItemsUnwrap returns the non-nil entries of a per-item error list, for its
// Unwrap method: errors.Is and errors.As then see the items' errors.
func ItemsUnwrap(items []error) []error {
	var out []error
	for _, err := range items {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}
