package pb_test

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/gobento/bento/internal/pb"
)

// ExampleRequest builds the request a BentoML client sends for an API named
// "predict" with raw input bytes, and shows its wire encoding.
func ExampleRequest() {
	req := &pb.Request{
		ApiName: "predict",
		Content: &pb.Request_SerializedBytes{SerializedBytes: []byte("hi")},
	}
	b, err := proto.Marshal(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%x\n", b)
	// Output: 0a077072656469637412026869
}
