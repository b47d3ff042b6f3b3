module gopush.test/benchmarks/createfromvcs

go 1.22

require golang.org/x/mod v0.7.0
