package main

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/gobento/bento/internal/pb"
)

// grpcFactory drives Call(api_name, text) on addr over nconn connections,
// goroutine i using connection i mod nconn.
func grpcFactory(addr, api, text string, nconn int) (workerFactory, func(), error) {
	conns := make([]*grpc.ClientConn, nconn)
	closeAll := func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}
	for i := range conns {
		// Each NewClient is its own channel, hence its own HTTP/2 connection.
		c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		conns[i] = c
	}
	req := &pb.Request{ApiName: api, Content: &pb.Request_Text{Text: wrapperspb.String(text)}}
	factory := func(i int) (callFunc, func(), error) {
		client := pb.NewBentoServiceClient(conns[i%nconn])
		return func(ctx context.Context) error {
			resp, err := client.Call(ctx, req)
			if err != nil {
				return err
			}
			if got := resp.GetText().GetValue(); got != text {
				return errMismatch("grpc "+api, []byte(got), []byte(text))
			}
			return nil
		}, nil, nil
	}
	return factory, closeAll, nil
}

// grpcReady polls Call until it succeeds.
func grpcReady(api, text string) func(ctx context.Context, s *server) error {
	return func(ctx context.Context, s *server) error {
		c, err := grpc.NewClient(s.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return err
		}
		defer c.Close()
		resp, err := pb.NewBentoServiceClient(c).Call(ctx,
			&pb.Request{ApiName: api, Content: &pb.Request_Text{Text: wrapperspb.String(text)}})
		if err != nil {
			return err
		}
		if resp.GetText().GetValue() != text {
			return fmt.Errorf("grpc ready check: got %q", resp.GetText().GetValue())
		}
		return nil
	}
}
