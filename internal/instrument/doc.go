// Package instrument holds gobento's default metric families: the API server
// and runner request metrics BentoML 1.x exposes (same names, types, label
// names and HELP texts), the adaptive-batch-size histogram, and gobento's own
// batching metrics and build info.
//
// # Families
//
// With the default namespaces, [New] registers:
//
//   - bentoml_api_server_request_in_progress (gauge), _request_total
//     (counter) and _request_duration_seconds (histogram), labelled
//     endpoint (HTTP) or api_name (gRPC), service_name, service_version and,
//     except for the gauge, http_response_code;
//   - bentoml_runner_request_in_progress, _request_total and
//     _request_duration_seconds, labelled like the HTTP families plus
//     runner_name;
//   - bentoml_runner_adaptive_batch_size (histogram), labelled runner_name,
//     worker_index, method_name, service_version, service_name;
//   - beyond BentoML: bentoml_runner_queue_wait_seconds,
//     bentoml_runner_batch_duration_seconds, bentoml_runner_batch_dispatch_total
//     {reason} and bentoml_runner_shed_total, labelled runner_name,
//     method_name, service_name, service_version;
//   - gobento_build_info{version, goversion}, always 1.
//
// [Options.APIEnabled] and [Options.RunnerEnabled] leave out the API and the
// runner request families; the batching families are always there, as in
// BentoML.
//
// # Label policy
//
// Label values only come from bounded sets. The API label is the declared
// route (HTTP) or API name (gRPC), never the raw request path: requests to an
// undeclared path are all counted under [Unmatched]. Status codes are
// three-digit numbers. Runner, method and worker labels come from the
// service's declarations.
//
// # Performance
//
// Every label child a request needs is resolved when the route or runner is
// declared ([Set.API], [Set.RunnerMethod], [Set.Batch]); children for the
// status codes gobento writes are created up front so dashboards see zeros.
// [Route.Start] and [Route.Done] then do atomic operations only: no map
// lookups, no locks and no allocations. A status code seen for the first
// time on a route creates its children once, then it is cached too.
//
// # Nil routes
//
// When a family set is disabled, [Set.API] and [Set.RunnerMethod] return a
// nil [*Route], whose methods do nothing, so callers need no conditionals.
//
// # Adaptive batch size buckets
//
// BentoML sizes the batch-size buckets from the largest max_batch_size M of
// all methods of a runner: 1, 2, 4, … below M, then M. The buckets of a
// runner are fixed when its first [Batch] is created, so call
// [Set.DeclareRunner] for every method of every runner when the service
// starts, before the first [Set.Batch] call.
//
// All methods are safe for concurrent use.
package instrument
