# Seconds per generation by program and grid size, both axes logarithmic:
# bench/run-life.sh writes the data and calls
#   gnuplot -e "datafile='...'; outfile='...'; chart_title='...'" bench/life_chart.gp
# datafile: one block per program, blocks separated by two blank lines, each
# starting with the program's name in quotes, then lines of
#   <cells> <seconds per generation> "<RxC>"
if (!exists("datafile")) datafile = 'build/life-bench/life.dat'
if (!exists("outfile")) outfile = 'docs/life-chart.svg'
if (!exists("chart_title")) chart_title = 'Game of Life: seconds per generation'

stats datafile using 1 nooutput
nblocks = STATS_blocks

set terminal svg size 900,560 dynamic enhanced font 'sans,12' background rgb 'white'
set output outfile
set title chart_title
set logscale xy
set xlabel 'grid size (cells, log scale)'
set ylabel 'seconds per generation (log scale)'
set format y '10^{%L}'
set grid xtics ytics mytics lc rgb '#dddddd'
set key outside right top spacing 1.1 noautotitle
set offsets graph 0.05, graph 0.05, 0, 0
# dashes, colors: one word per block, in order. The script passes the
# book's Python dashed (2), Go dotted (3), weft solid (1), and one colour
# per kind of model, so that a book model and its weft model pair up.
if (!exists("dashes")) dashes = ''
if (!exists("colors")) colors = ''
dash(i) = (words(dashes) > i) ? int(word(dashes, i + 1)) : 1
color(i) = (words(colors) > i) ? word(colors, i + 1) : '#000000'
plot for [i=0:nblocks-1] datafile index i using 1:2:xtic(3) \
	with linespoints lw 2 pt (i % 13) + 1 ps 0.8 dt dash(i) lc rgb color(i) \
	title columnheader(1)
