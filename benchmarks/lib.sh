# Helpers for the benchmark scripts (source it). A step's outputs are written under temporary
# names and renamed when it succeeds; a step whose .time file exists is skipped, so a script
# cut off part-way (or run in parts) resumes where it stopped. Delete results/ to start over.

# timed OUT_DIR NAME COMMAND...: run COMMAND, stdout -> OUT_DIR/NAME.txt, time -> NAME.time
timed() {
  local out=$1 name=$2
  shift 2
  if [ -f "$out/$name.time" ]; then
    echo "skip $name (done: $out/$name.time)"
    return 0
  fi
  echo "run  $name: $*"
  /usr/bin/time -f "%e s wall, %M KB peak RSS" -o "$out/$name.time.tmp" "$@" > "$out/$name.txt.tmp"
  mv "$out/$name.txt.tmp" "$out/$name.txt"
  mv "$out/$name.time.tmp" "$out/$name.time"
}
