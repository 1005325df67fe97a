package main

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func newAnalyzer(t testing.TB) *Analyzer {
	t.Helper()
	a, err := NewAnalyzer()
	if err != nil {
		t.Fatalf("NewAnalyzer: %v", err)
	}
	return a
}

func TestIsPositive(t *testing.T) {
	a := newAnalyzer(t)
	tests := []struct {
		text string
		want bool
	}{
		{"I love this", true},
		{"This is terrible. I hate it.", false},
		{"", false},
		{"   \n\t ", false},
		{"The food was great! The service was excellent.", true},
		{"The movie was not good at all.", false},
		{"It is a table.", false}, // neutral: compound 0 is not positive
		{"I hate Mondays. But this weekend was absolutely wonderful, amazing and fun!", true},
		{"Great start. Then it broke, the support was useless and I want a refund. Awful!", false},
		{"😊", true},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got, err := a.IsPositive(context.Background(), tt.text)
			if err != nil {
				t.Fatalf("IsPositive: %v", err)
			}
			if got != tt.want {
				mean, n, _ := a.Score(context.Background(), tt.text)
				t.Errorf("IsPositive(%q) = %v, want %v (mean compound %.4f over %d sentences)", tt.text, got, tt.want, mean, n)
			}
		})
	}
}

func TestScoreIsMeanOfSentences(t *testing.T) {
	a := newAnalyzer(t)
	text := "I love this. I hate that! It is a chair?"
	mean, n, err := a.Score(context.Background(), text)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Fatalf("n = %d, want 3", n)
	}
	want := (a.Compound("I love this.") + a.Compound("I hate that!") + a.Compound("It is a chair?")) / 3
	if mean != want {
		t.Errorf("mean = %v, want %v", mean, want)
	}
	if a.Compound("I love this.") <= 0 || a.Compound("I hate that!") >= 0 {
		t.Errorf("unexpected sentence polarities")
	}
}

func TestIsPositiveCancelled(t *testing.T) {
	a := newAnalyzer(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, text := range []string{"I love this", ""} {
		if _, err := a.IsPositive(ctx, text); !errors.Is(err, context.Canceled) {
			t.Errorf("IsPositive(%q) err = %v, want context.Canceled", text, err)
		}
	}
}

func TestSplitSentences(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"empty", "", nil},
		{"whitespace", "  \n ", nil},
		{"single no terminator", "I love this", []string{"I love this"}},
		{"two sentences", "This is terrible. I hate it.", []string{"This is terrible.", "I hate it."}},
		{"mixed terminators", "Wow! Really? Yes.", []string{"Wow!", "Really?", "Yes."}},
		{"repeated terminators", "What?! No way... Fine.", []string{"What?!", "No way...", "Fine."}},
		{"newlines", "First line.\nSecond line!\n\nThird", []string{"First line.", "Second line!", "Third"}},
		{"no space after period", "Version 3.14 is out.It works.", []string{"Version 3.14 is out.It works."}},
		{"url and decimal", "Visit example.com today. Costs 2.50 dollars.", []string{"Visit example.com today.", "Costs 2.50 dollars."}},
		{"closing quote", `He said "great!" Then left.`, []string{`He said "great!"`, "Then left."}},
		{"closing paren", "It works (mostly.) Good.", []string{"It works (mostly.)", "Good."}},
		{"title abbreviation", "Mr. Smith is nice. Dr. Who is too.", []string{"Mr. Smith is nice.", "Dr. Who is too."}},
		{"initial", "J. R. R. Tolkien wrote it. I liked it.", []string{"J. R. R. Tolkien wrote it.", "I liked it."}},
		{"pronoun I ends sentence", "So do I. It is fun.", []string{"So do I.", "It is fun."}},
		{"e.g.", "Fruit, e.g. apples, is healthy. Eat it.", []string{"Fruit, e.g. apples, is healthy.", "Eat it."}},
		{"leading and trailing space", "  Hi there.   Bye.  ", []string{"Hi there.", "Bye."}},
		{"ellipsis rune", "Well… okay.", []string{"Well…", "okay."}},
		{"unicode", "C'est génial! Très bien.", []string{"C'est génial!", "Très bien."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SplitSentences(tt.text)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("SplitSentences(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestAnalyzerConcurrent(t *testing.T) {
	a := newAnalyzer(t)
	done := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for i := 0; i < 50; i++ {
				ok, err := a.IsPositive(context.Background(), "I love this. It is wonderful!")
				if err == nil && !ok {
					err = errors.New("expected positive")
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

func BenchmarkIsPositive(b *testing.B) {
	a := newAnalyzer(b)
	for _, n := range []int{1, 10} {
		text := strings.Repeat("The service was great and the food was excellent. ", n)
		b.Run(fmt.Sprintf("sentences=%d", n), func(b *testing.B) {
			ctx := context.Background()
			for b.Loop() {
				if _, err := a.IsPositive(ctx, text); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkSplitSentences(b *testing.B) {
	text := strings.Repeat("Mr. Smith said it was great! Was it? Yes, e.g. the soup. ", 10)
	for b.Loop() {
		SplitSentences(text)
	}
}

func ExampleAnalyzer_IsPositive() {
	a, err := NewAnalyzer()
	if err != nil {
		panic(err)
	}
	for _, text := range []string{"I love this", "This is terrible. I hate it."} {
		ok, err := a.IsPositive(context.Background(), text)
		if err != nil {
			panic(err)
		}
		fmt.Println(ok)
	}
	// Output:
	// true
	// false
}

func ExampleSplitSentences() {
	fmt.Printf("%q\n", SplitSentences("Dr. Who arrived. Was it fun? Yes!"))
	// Output: ["Dr. Who arrived." "Was it fun?" "Yes!"]
}
