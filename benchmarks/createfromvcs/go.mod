module gopush.test/benchmarks/createfromvcs

go 1.22

// benchmarks/build_speed.py builds this with a replace directive pointing at the x/mod
// sources it is given (--xmod), with no network; x/mod before v0.22.0 zips vendor/modules.txt
// of go 1.24+ modules, which the go command does not.
require golang.org/x/mod v0.22.0
