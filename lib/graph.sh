# lib/graph.sh: `unshared-cli graph`: the live topology: bridges, the
# instances on them with their addresses and shaping, and the partitions
# between them. As text, as Graphviz source, or drawn by Graphviz.

usage() {
	cat <<'EOF'
Usage: unshared-cli graph [--format text|dot|svg]

Draw what runs now: each bridge with its address, the instances on it with
their address, state and shaping, the partitions between instances (and the
instances on no bridge).

  --format text   a tree, for a terminal (the default)
  --format dot    Graphviz source (no Graphviz needed): pipe it to dot -Tpng
  --format svg    drawn by Graphviz's dot (needs the graphviz package)
EOF
}

cmd_main() {
	g_fmt=text
	while [ $# -gt 0 ]; do
		case $1 in
		--format) [ $# -ge 2 ] || die "--format: needs text, dot or svg"; g_fmt=$2; shift 2 ;;
		--format=*) g_fmt=${1#*=}; shift ;;
		--dot | --svg | --text) g_fmt=${1#--}; shift ;;
		*) die "unknown argument '$1' (see 'unshared-cli graph --help')" ;;
		esac
	done
	case $g_fmt in text | dot | svg) ;; *) die "--format '$g_fmt': expected text, dot or svg" ;; esac
	. "$UNSHARED_LIB/state.sh"
	. "$UNSHARED_LIB/fault.sh"
	graph_collect
	case $g_fmt in
	text) graph_text ;;
	dot) graph_dot ;;
	svg)
		fault_which dot || die "--format svg: needs Graphviz's dot (Debian package graphviz); --format dot or text work without it"
		graph_dot | "$tool" -Tsvg ;;
	esac
}

# graph_collect -> $g_nodes: "NAME<TAB>BRIDGE<TAB>ADDR<TAB>STATE<TAB>SHAPING"
# lines (BRIDGE - for none), $g_bridges: "BRIDGE ADDR" lines, $g_cuts: "A B"
# lines, each pair once
graph_collect() {
	g_nodes='' g_bridges='' g_cuts=''
	fault_parts
	for _gd in "$UNSHARED_STATE"/*; do
		[ -d "$_gd" ] || continue
		state_status "$_gd"
		state_info "$_gd"
		[ -d "$_gd" ] || continue
		_gn=${_gd##*/}
		fault_load "$_gd"
		fault_describe
		g_nodes="$g_nodes$_gn	${i_bridge:--}	${i_addr:--}	$st	${desc:--}$nl"
		if [ -n "$i_bridge" ]; then
			case $nl$g_bridges in *"$nl$i_bridge "*) ;; *) graph_bridge "$i_bridge" ;; esac
		fi
		fault_cuts "$_gd" "$_gn"
		_gc=$cuts,
		while [ "$_gc" != , ] && [ -n "$_gc" ]; do
			_gp=${_gc%%,*}
			_gc=${_gc#*,}
			case $nl$g_cuts in *"$nl$_gp $_gn$nl"*) continue ;; esac
			g_cuts="$g_cuts$_gn $_gp$nl"
		done
	done
}

# graph_bridge BR: BR and its first IPv4 address (- for none) into $g_bridges
graph_bridge() {
	_ga=-
	if [ -e "/sys/class/net/$1" ] && fault_which ip; then
		_go=$("$tool" -o -4 addr show dev "$1" 2>/dev/null) || _go=''
		set -f
		# shellcheck disable=SC2086 # ip's words, split on purpose
		set -- "$1" ${_go%%"$nl"*}
		set +f
		_gb=$1
		while [ $# -gt 1 ]; do
			if [ "$1" = inet ]; then _ga=$2; break; fi
			shift
		done
		set -- "$_gb"
	else
		_ga='(gone)'
	fi
	g_bridges="$g_bridges$1 $_ga$nl"
}

# graph_each FUNCTION: FUNCTION NAME BRIDGE ADDR STATE SHAPING per node
graph_each() {
	_ge=$g_nodes
	while [ -n "$_ge" ]; do
		_gl=${_ge%%"$nl"*}
		_ge=${_ge#*"$nl"}
		_ifs=$IFS
		IFS='	'
		set -f
		# shellcheck disable=SC2086 # tab-separated fields we wrote
		set -- $_gl
		set +f
		IFS=$_ifs
		"$_gf" "$@"
	done
}

graph_text() {
	if [ -z "$g_nodes" ]; then
		printf 'no instance\n'
		return 0
	fi
	_gbl=$g_bridges
	while [ -n "$_gbl" ]; do
		g_br=${_gbl%%"$nl"*}
		_gbl=${_gbl#*"$nl"}
		printf '%s (bridge %s)\n' "${g_br%% *}" "${g_br#* }"
		g_br=${g_br%% *}
		# the last instance on this bridge gets the closing branch
		g_last='' _gf=graph_text_last
		graph_each
		_gf=graph_text_node
		graph_each
	done
	g_br=- g_head='' _gf=graph_text_alone
	graph_each
	if [ -n "$g_cuts" ]; then
		printf 'partitions:\n'
		_gk=$g_cuts
		while [ -n "$_gk" ]; do
			_gl=${_gk%%"$nl"*}
			_gk=${_gk#*"$nl"}
			printf '  %s  x  %s\n' "${_gl%% *}" "${_gl#* }"
		done
	fi
}

graph_text_last() {
	[ "$2" != "$g_br" ] || g_last=$1
}

graph_text_node() {
	[ "$2" = "$g_br" ] || return 0
	_gt='|--'
	[ "$1" != "$g_last" ] || _gt='`--'
	_gsh=${5#-}
	printf '%s %-16s %-18s %s%s\n' "$_gt" "$1" "$3" "$4" "${_gsh:+  $_gsh}"
}

graph_text_alone() {
	[ "$2" = - ] || return 0
	[ -n "$g_head" ] || printf 'on no bridge:\n'
	g_head=1
	_gsh=${5#-}
	printf '    %-16s %-18s %s%s\n' "$1" - "$4" "${_gsh:+  $_gsh}"
}

graph_dot() {
	printf 'graph "unshared-cli" {\n'
	printf '\tgraph [rankdir=LR, fontname="sans-serif"];\n'
	printf '\tnode [fontname="sans-serif", fontsize=10];\n'
	printf '\tedge [fontname="sans-serif", fontsize=9];\n'
	_gbl=$g_bridges
	while [ -n "$_gbl" ]; do
		_gl=${_gbl%%"$nl"*}
		_gbl=${_gbl#*"$nl"}
		printf '\t"bridge:%s" [shape=box, style="rounded,filled", fillcolor="#e8eef7", label="%s\\n%s"];\n' \
			"${_gl%% *}" "${_gl%% *}" "${_gl#* }"
	done
	_gf=graph_dot_node
	graph_each
	_gk=$g_cuts
	while [ -n "$_gk" ]; do
		_gl=${_gk%%"$nl"*}
		_gk=${_gk#*"$nl"}
		printf '\t"%s" -- "%s" [style=dashed, color=red, fontcolor=red, label="partitioned", constraint=false];\n' \
			"${_gl%% *}" "${_gl#* }"
	done
	printf '}\n'
}

graph_dot_node() {
	_gs=''
	case $4 in running) ;; *) _gs=", style=dashed" ;; esac
	_gla=$1
	[ "$3" = - ] || _gla="$_gla\\n$3"
	[ "$4" = running ] || _gla="$_gla\\n($4)"
	printf '\t"%s" [shape=ellipse%s, label="%s"];\n' "$1" "$_gs" "$_gla"
	[ "$2" != - ] || return 0
	if [ "$5" = - ]; then
		printf '\t"bridge:%s" -- "%s";\n' "$2" "$1"
	else
		printf '\t"bridge:%s" -- "%s" [color=orange, fontcolor=orange, label="%s"];\n' "$2" "$1" "$5"
	fi
}
