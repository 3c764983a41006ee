#!/usr/bin/env bash
# metrics_plot.sh CSV OUT_DIR - the series tests/netns/metrics.sh recorded from sarad's
# /metrics (one row a second) plotted as the Grafana dashboard
# (conf/grafana/sara-dashboard.json) shows them: verdict rates, sessions and flows in
# use, admission load and zone, each server's sessions and load. Writes
# OUT_DIR/metrics.svg and OUT_DIR/metrics.png (gnuplot).
set -u
csv=${1:?usage: metrics_plot.sh CSV OUT_DIR}
out=${2:?usage: metrics_plot.sh CSV OUT_DIR}
command -v gnuplot >/dev/null 2>&1 || { echo "metrics_plot.sh: gnuplot not installed"; exit 0; }
for term in svg png; do
	case $term in
	svg) setterm="set terminal svg size 1200,760 dynamic font 'sans,11' background '#ffffff'" ;;
	png) setterm="set terminal pngcairo size 1200,760 font 'sans,9' background '#ffffff'" ;;
	esac
	gnuplot <<EOF || { echo "metrics_plot.sh: gnuplot $term failed"; exit 1; }
$setterm
set output '$out/metrics.$term'
set datafile separator ','
set key autotitle columnhead
set multiplot layout 2,2 title "sara: sarad's /metrics during tests/netns/metrics.sh (42 SIP calls, 3 servers)"
set grid
set xlabel 'sarad uptime (s)'
set key top left
set title 'verdicts (rate of sara\_verdicts\_total)'
set ylabel 'packets/s'
plot '$csv' using 1:6 with lines lw 2 title 'accept (all reasons)', \
     '' using 1:8 with lines lw 2 title 'accept, reason session', \
     '' using 1:7 with lines lw 2 title 'drop', \
     '' using 1:20 with lines lw 2 dt 2 title 'announcements accepted/s'
set title 'sessions and flows in use (capacity: see the dashboard)'
set ylabel 'in use'
plot '$csv' using 1:2 with lines lw 2 title 'sara\_sessions\_in\_use', \
     '' using 1:3 with lines lw 2 title 'sara\_flows\_in\_use'
set title 'admission: load x, l_c, l_d (0..1) and zone'
set ylabel 'load'
set y2label 'zone (0 off, 1 normal, 2 shed, 3 closed, 4 degrade, 5 full)'
set yrange [0:1]
set y2range [0:5]
set y2tics 1
plot '$csv' using 1:9 with lines lw 2 title 'sara\_admission\_load', \
     '' using 1:10 with lines lw 1 title 'cluster\_load', \
     '' using 1:11 with lines lw 1 title 'dispatcher\_load', \
     '' using 1:12 axes x1y2 with steps lw 2 dt 2 title 'zone'
unset y2label
unset y2tics
set yrange [*:*]
set key top right
set title 'per server (label server): sessions, and load reported by its agent'
set ylabel 'sessions'
set y2label 'load'
set y2range [0:1]
set y2tics
plot '$csv' using 1:13 with lines lw 2 title 's1 sessions', \
     '' using 1:14 with lines lw 2 title 's2 sessions', \
     '' using 1:15 with lines lw 2 title 's3 sessions', \
     '' using 1:16 axes x1y2 with lines dt 2 title 's1 load', \
     '' using 1:17 axes x1y2 with lines dt 2 title 's2 load', \
     '' using 1:18 axes x1y2 with lines dt 2 title 's3 load'
unset multiplot
EOF
done
echo "plot: $out/metrics.svg, $out/metrics.png"
