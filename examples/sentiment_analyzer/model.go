package main

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/jonreiter/govader"
)

// Analyzer scores text with VADER (Valence Aware Dictionary and sEntiment Reasoner), the
// rule- and lexicon-based sentiment model, through its Go port govader. The lexicon is
// read-only after NewAnalyzer returns, so an Analyzer is safe for concurrent use.
type Analyzer struct {
	vader *govader.SentimentIntensityAnalyzer
}

// NewAnalyzer loads the VADER lexicon and emoji table.
func NewAnalyzer() (a *Analyzer, err error) {
	// govader panics (log.Panic) if its embedded lexicon cannot be read; turn that into an
	// error so a broken build fails start-up cleanly.
	defer func() {
		if r := recover(); r != nil {
			a, err = nil, fmt.Errorf("sentiment: load VADER lexicon: %v", r)
		}
	}()
	return &Analyzer{vader: govader.NewSentimentIntensityAnalyzer()}, nil
}

// Compound returns the VADER compound score of one sentence, in [-1, 1].
func (a *Analyzer) Compound(sentence string) float64 {
	return a.vader.PolarityScores(sentence).Compound
}

// Score splits text into sentences and returns the mean of their compound scores, and the
// number of sentences. Text without sentences scores 0.
func (a *Analyzer) Score(ctx context.Context, text string) (float64, int, error) {
	sentences := SplitSentences(text)
	if len(sentences) == 0 {
		return 0, 0, ctx.Err()
	}
	var sum float64
	for _, s := range sentences {
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		sum += a.Compound(s)
	}
	return sum / float64(len(sentences)), len(sentences), nil
}

// IsPositive reports whether the mean VADER compound score of the sentences of text is
// greater than zero. Empty or whitespace-only text is not positive. It returns ctx.Err()
// if ctx is done before scoring finishes.
func (a *Analyzer) IsPositive(ctx context.Context, text string) (bool, error) {
	mean, n, err := a.Score(ctx, text)
	if err != nil {
		return false, err
	}
	return n > 0 && mean > 0, nil
}

// SplitSentences splits text into trimmed sentences, roughly like NLTK's sent_tokenize: a
// sentence ends at a run of '.', '!' or '?' (optionally followed by closing quotes or
// brackets) that is followed by whitespace or the end of the text. A period after an
// initial ("J. Smith") or a common abbreviation ("Mr.", "e.g.") does not end a sentence,
// and neither does a period inside a token ("3.14", "example.com"). Empty pieces are
// dropped.
func SplitSentences(text string) []string {
	var out []string
	start := 0
	i := 0
	for i < len(text) {
		r, size := utf8.DecodeRuneInString(text[i:])
		if !isTerminator(r) {
			i += size
			continue
		}
		// Extend over the whole run of terminators and closing punctuation.
		end := i + size
		for end < len(text) {
			r2, s2 := utf8.DecodeRuneInString(text[end:])
			if !isTerminator(r2) && !isCloser(r2) {
				break
			}
			end += s2
		}
		atBoundary := end == len(text)
		if !atBoundary {
			next, _ := utf8.DecodeRuneInString(text[end:])
			atBoundary = unicode.IsSpace(next)
		}
		if atBoundary && !(r == '.' && end == i+size && isAbbreviation(text[start:i])) {
			if s := strings.TrimSpace(text[start:end]); s != "" {
				out = append(out, s)
			}
			start = end
		}
		i = end
	}
	if s := strings.TrimSpace(text[start:]); s != "" {
		out = append(out, s)
	}
	return out
}

func isTerminator(r rune) bool { return r == '.' || r == '!' || r == '?' || r == '…' }

func isCloser(r rune) bool {
	switch r {
	case '"', '\'', ')', ']', '}', '’', '”', '»':
		return true
	}
	return false
}

// isKnownAbbreviation reports whether word (lower case, without its final period) is a
// common abbreviation after which a period does not end a sentence.
func isKnownAbbreviation(word string) bool {
	switch word {
	case "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e",
		"inc", "ltd", "co", "fig", "approx", "dept", "u.s":
		return true
	}
	return false
}

// isAbbreviation reports whether the text before a period ends with an initial (a single
// capital letter other than "I") or a known abbreviation.
func isAbbreviation(before string) bool {
	word := before
	if k := strings.LastIndexFunc(before, unicode.IsSpace); k >= 0 {
		word = before[k+1:]
	}
	word = strings.TrimLeft(word, "\"'([{“‘«")
	if word == "" {
		return false
	}
	if utf8.RuneCountInString(word) == 1 {
		// An initial such as "J." — but not the pronoun "I".
		r, _ := utf8.DecodeRuneInString(word)
		return unicode.IsUpper(r) && r != 'I'
	}
	return isKnownAbbreviation(strings.ToLower(word))
}
