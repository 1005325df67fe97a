package suggest

import "testing"

func TestClosest(t *testing.T) {
	runners := []string{"iris_clf", "nltk_sentiment", "enc"}
	for _, tc := range []struct {
		in, want string
	}{
		{"iris_clff", "iris_clf"}, // insertion
		{"irsi_clf", "iris_clf"},  // swap
		{"IRIS_CLF", "iris_clf"},  // case
		{"nltk_sentimnet", "nltk_sentiment"},
		{"enx", "enc"}, // short name: one edit
		{"xyz", ""},    // short name: two edits is too far
		{"something_else", ""},
	} {
		if got := Closest(tc.in, runners); got != tc.want {
			t.Errorf("Closest(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"", "ab", 2}, {"ab", "ba", 1}, {"kitten", "sitting", 3}, {"namespace", "namepsace", 1},
	} {
		if got := EditDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("EditDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
