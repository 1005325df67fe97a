package bento_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/gobento/bento"
	"github.com/gobento/bento/config"
)

// parser parses integers; it stands in for a model.
type parser struct{}

// ParseBatch fails only the items that are not integers: their callers get
// a 400 with their own message, the other callers of the batch their
// results.
func (parser) ParseBatch(_ context.Context, items []string) ([]int, error) {
	outs := make([]int, len(items))
	var failed bento.ItemErrors
	for i, s := range items {
		n, err := strconv.Atoi(s)
		if err != nil {
			if failed == nil {
				failed = make(bento.ItemErrors, len(items))
			}
			failed[i] = bento.BadInputf("%q is not an integer", s)
			continue
		}
		outs[i] = n
	}
	if failed != nil {
		return outs, failed
	}
	return outs, nil
}

func ExampleItemErrors() {
	svc := bento.NewService("parser")
	r := bento.NewRunner(svc, "parser", func() (parser, error) { return parser{}, nil })
	parse := bento.BatchMethod(r, "parse", parser.ParseBatch)

	cfg := config.Default()
	cfg.APIServer.HTTP.Host, cfg.APIServer.HTTP.Port = "127.0.0.1", 0
	srv, err := bento.StartHTTP(context.Background(), svc, cfg, bento.Logger(slog.New(slog.DiscardHandler)))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Shutdown(context.Background())

	// Run returns the item's own entry.
	n, err := parse.Run(context.Background(), "42")
	fmt.Println(n, err)
	_, err = parse.Run(context.Background(), "forty-two")
	var e *bento.Error
	fmt.Println(errors.As(err, &e), e.Status, e.Msg)

	// RunMany returns one entry per input when some of them failed.
	_, err = parse.RunMany(context.Background(), []string{"1", "two", "3"})
	var ie bento.ItemErrors
	if errors.As(err, &ie) {
		for i, err := range ie {
			fmt.Println(i, err)
		}
	}
	// Output:
	// 42 <nil>
	// true 400 "forty-two" is not an integer
	// 0 <nil>
	// 1 "two" is not an integer
	// 2 <nil>
}
