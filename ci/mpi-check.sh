#!/usr/bin/env bash
# Data-parallel training over MPI (issue 22; docs/distributed.md), two processes on this machine's
# CPUs under Open MPI's mpirun:
#   1. 20 steps on 2 processes give bit-identical weights, losses and validation R² to one process
#      with --grad-accum 2 (validation sharded over the two);
#   2. a process killed mid-run (SIGKILL) ends the whole job, with no hang;
#   3. --resume under mpirun -np 2 then finishes with the same weights as the uninterrupted run, and
#      so does --resume in one process (it runs both micro-batches of each step itself).
#   4. the same equality and kill under MPICH's mpirun.mpich (the other ABI poyo opens).
# Installs Open MPI and MPICH (apt) when missing; poyo itself needs no MPI to build (MPI is opened
# at run time). Installing MPICH leaves `mpirun` pointing at Open MPI (higher priority).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v mpirun.openmpi > /dev/null || ! command -v mpirun.mpich > /dev/null; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "mpi-check: installing openmpi-bin and mpich"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends openmpi-bin mpich > /dev/null
fi
swift build --product poyo 2>&1 | tail -1
root="$PWD"
poyo="$root/.build/debug/poyo"
same="python3 $root/Tools/distributed/same_weights.py"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
export POYO_NUM_THREADS=1
mpi="mpirun.openmpi --oversubscribe --allow-run-as-root -np 2"
cp "$root/ci/tiny.yaml" tiny.yaml
"$poyo" synth --out data --sessions 2 > /dev/null 2>&1
train="$poyo train --config tiny.yaml --data data --device cpu --steps 20 --checkpoint-every 5"

$train --grad-accum 2 --out one > one.log 2>&1
$mpi $train --out two > two.log 2>&1
$same one/checkpoint.safetensors two/checkpoint.safetensors
cmp one/checkpoint.safetensors two/checkpoint.safetensors
# step, epoch, loss, lr and validation R² of every step (times differ)
diff <(cut -d, -f1-4,7 one/metrics.csv) <(cut -d, -f1-4,7 two/metrics.csv)
r2_one=$(grep '"val_r2_mean"' one/summary.json | tr -d ' ,')
r2_two=$(grep '"val_r2_mean"' two/summary.json | tr -d ' ,')
[ "$r2_one" = "$r2_two" ] || { echo "mpi-check: validation R² $r2_two (2 processes) vs $r2_one (1)"; exit 1; }
echo "mpi-check: 2 processes = 1 process with --grad-accum 2 after 20 steps: weights, losses, $r2_two"

start=$(date +%s)
set +e
POYO_FAULT_KILL_AT_STEP=12 POYO_FAULT_KILL_RANK=1 timeout 120 $mpi $train --out killed > killed.log 2>&1
status=$?
set -e
seconds=$(($(date +%s) - start))
if [ "$status" -eq 0 ] || [ "$status" -eq 124 ]; then
    echo "mpi-check: killing rank 1 did not end the job (exit $status)"
    tail -20 killed.log
    exit 1
fi
echo "mpi-check: rank 1 killed at step 12: the job ended (exit $status) after ${seconds} s in all"
cp -r killed alone
$mpi "$poyo" train --resume killed --device cpu > resumed.log 2>&1
cmp two/checkpoint.safetensors killed/checkpoint.safetensors
diff <(cut -d, -f1-4,7 two/metrics.csv) <(cut -d, -f1-4,7 killed/metrics.csv)
echo "mpi-check: --resume under mpirun -np 2 finished bit-identical to the uninterrupted run"
"$poyo" train --resume alone --device cpu > alone.log 2>&1
cmp two/checkpoint.safetensors alone/checkpoint.safetensors
echo "mpi-check: --resume of the same folder in one process finished bit-identical too"

# MPICH: its integer handles instead of Open MPI's pointers.
mpich="mpirun.mpich -np 2"
$mpich $train --out mpich > mpich.log 2>&1
cmp one/checkpoint.safetensors mpich/checkpoint.safetensors
grep -q "distributed: MPICH" mpich.log
echo "mpi-check: MPICH, 2 processes = 1 process with --grad-accum 2 (weights)"
set +e
POYO_FAULT_KILL_AT_STEP=12 POYO_FAULT_KILL_RANK=1 timeout 120 $mpich $train --out mpich-killed > mpich-killed.log 2>&1
status=$?
set -e
[ "$status" -ne 0 ] && [ "$status" -ne 124 ] || { echo "mpi-check: MPICH did not end the job (exit $status)"; exit 1; }
$mpich "$poyo" train --resume mpich-killed --device cpu > mpich-resumed.log 2>&1
cmp two/checkpoint.safetensors mpich-killed/checkpoint.safetensors
echo "mpi-check: MPICH, a killed rank ended the job (exit $status); --resume finished bit-identical"
