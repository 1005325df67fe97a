package bento_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gobento/bento"
)

// A service mounted under /shouter/ of an application's own mux.
func ExampleNewHandler() {
	svc := bento.NewService("shouter")
	bento.API(svc, "shout", bento.Text(), bento.Text(),
		func(_ context.Context, s string) (string, error) { return strings.ToUpper(s), nil })

	h, err := bento.NewHandler(context.Background(), svc, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer h.Close(context.Background())

	mux := http.NewServeMux()
	mux.Handle("/shouter/", http.StripPrefix("/shouter", h))
	app := httptest.NewServer(mux) // in production: an http.Server of the application
	defer app.Close()

	resp, err := http.Post(app.URL+"/shouter/shout", "text/plain", strings.NewReader("hello"))
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))
	// Output: 200 HELLO
}
