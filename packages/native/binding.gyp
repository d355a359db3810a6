{
  "targets": [
    {
      "target_name": "distillery_native",
      "sources": ["src/addon.c", "src/args.c", "src/parallel.c", "src/gemm.c", "src/elementwise.c", "src/reduce.c", "src/softmax.c", "src/transpose.c", "src/gather.c", "src/adamw.c", "src/fused.c"],
      "cflags": ["-O3", "-fno-math-errno", "-fno-trapping-math", "-ffp-contract=off", "-std=c11", "-D_GNU_SOURCE", "-Wall"],
      "include_dirs": ["/usr/include/x86_64-linux-gnu/openblas-pthread", "/usr/include/openblas"],
      "libraries": ["-lopenblas", "-lpthread", "-lm"]
    }
  ]
}
