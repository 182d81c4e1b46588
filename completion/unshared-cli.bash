# bash completion for unshared-cli                          -*- shell-script -*-
# shellcheck shell=bash
#
# Installed as $(BASHCOMPDIR)/unshared-cli, where bash-completion loads it the
# first time unshared-cli is completed; or source it from ~/.bashrc.
# Stand-alone: bash builtins and compgen only, none of bash-completion's helpers.
#
# The options of each subcommand come from its own usage text (`unshared-cli SUB
# --help`, the source of truth, read once per shell), with the number of values
# each takes read from the same text ("--bind SRC DST" takes two, "--exec CMD..."
# takes words up to the next --option). The texts below are used when the front
# end cannot be run.

_unshared_cli_fallback_spawn='
  -m, --mount   -u, --uts   -i, --ipc   -n, --net   -p, --pid   -U, --user   -C, --cgroup
  --name NAME   --root TYPE|PATH   --hostname NAME   --chdir DIR   --detach, --fork
  --data-dir SRC:DST[:ro|:rw]
  --bind SRC DST   --ro-bind SRC DST   --dev-bind SRC DST
  --tmpfs DST   --proc DST   --dev DST   --mqueue DST   --remount-ro DST
  --overlay SRC DST WORKDIR   --squash IMAGE DST   --squash-overlay IMAGE DST WORKDIR
  --read-only   --ephemeral   --overlay-dir DIR   --no-default-mounts
  -r, --map-root-user   --uid-map MAP   --gid-map MAP   --map-auto
  --setuid UID|NAME   --setgid GID|NAME   --groups LIST   --cap-drop CAPS   --cap-add CAPS   --seccomp FILE
  --bridge BR   --addr CIDR|auto
  --preexec CMD...   --postexec CMD...   --prechroot CMD...   --exec CMD...   --chroot CMD...
'
_unshared_cli_fallback_list='  --json   --no-gc'
_unshared_cli_fallback_logs='  -f, --follow'
_unshared_cli_fallback_stop='  --timeout SECONDS   --all'
_unshared_cli_fallback_mkroot='  -f, --force   --squash'
_unshared_cli_fallback_subs='spawn list attach logs stop gc get-root mkroot roots help'

declare -gA _unshared_cli_cache=()

# _unshared_cli_home CMD -> $_uc_home: where the front end CMD keeps lib/ and
# roots/, found as the front end finds them (beside it, or PREFIX/lib/unshared-cli)
_unshared_cli_home() {
	local cmd=$1 dir
	# shellcheck disable=SC2088 # a literal ~, as the word was typed
	[[ $cmd == '~/'* ]] && cmd=$HOME/${cmd#'~/'}
	if [[ $cmd != */* ]]; then
		cmd=$(type -P -- "$cmd") || return 1
	fi
	dir=${cmd%/*}
	if [[ -f $dir/lib/common.sh ]]; then
		_uc_home=$dir
	elif [[ -f ${dir%/*}/lib/unshared-cli/lib/common.sh ]]; then
		_uc_home=${dir%/*}/lib/unshared-cli
	else
		return 1
	fi
	_uc_cmd=$cmd
}

# _unshared_cli_usage SUB -> $_uc_usage: the usage text of SUB (cached)
_unshared_cli_usage() {
	local key="$_uc_cmd $1" fb
	if [[ -z ${_unshared_cli_cache[$key]+set} ]]; then
		_unshared_cli_cache[$key]=
		if [[ -n $_uc_cmd ]]; then
			_unshared_cli_cache[$key]=$("$_uc_cmd" "$1" --help 2>/dev/null </dev/null)
		fi
		if [[ -z ${_unshared_cli_cache[$key]} ]]; then
			fb=_unshared_cli_fallback_${1//-/_}
			_unshared_cli_cache[$key]=${!fb:-}
		fi
	fi
	_uc_usage=${_unshared_cli_cache[$key]}
}

# _unshared_cli_options SUB -> _uc_arity[OPTION]=N|*: the options SUB's usage
# lists and how many values each takes. An option counts where a column starts
# (after the indentation, ", " or two spaces), or anywhere in a "Usage:" line
# ("[--timeout SECONDS]", "[-f|--follow]"); its values are the UPPER-case words
# after it, one space apart, up to a "]"; "CMD..." means the words up to the
# next --option.
_unshared_cli_options() {
	local line rest opt n w lead
	_uc_arity=()
	_unshared_cli_usage "$1"
	while IFS= read -r line; do
		lead='^[[:space:]]+|[[:space:]][[:space:]]|,[[:space:]]'
		[[ $line =~ ^(Usage:|\ +unshared-cli\ ) ]] && lead+='|[[:space:][|]'
		rest=$line
		while [[ $rest =~ ($lead)(--?[[:alnum:]][[:alnum:]-]*)(.*) ]]; do
			opt=${BASH_REMATCH[2]}
			rest=${BASH_REMATCH[3]}
			n=0
			while [[ $rest =~ ^\ ([A-Z][^[:space:]]*)(.*) ]]; do
				w=${BASH_REMATCH[1]}
				rest=${BASH_REMATCH[2]}
				if [[ $w == *... ]]; then
					n='*'
					break
				fi
				n=$((n + 1))
				[[ $w != *']' ]] || break
			done
			_uc_arity[$opt]=$n
		done
	done <<<"$_uc_usage"
	_uc_arity[--help]=0
}

# _unshared_cli_subcommands -> _uc_words: from `unshared-cli help`, lines
# "  spawn      run ..." under "Subcommands:"
_unshared_cli_subcommands() {
	local line in=''
	_unshared_cli_usage help
	_uc_words=()
	while IFS= read -r line; do
		if [[ $line == Subcommands:* ]]; then
			in=1
		elif [[ -n $in ]]; then
			[[ $line =~ ^\ +([a-z][a-z-]*)(\ |$) ]] || break
			_uc_words+=("${BASH_REMATCH[1]}")
		fi
	done <<<"$_uc_usage"
	# shellcheck disable=SC2206 # a fixed list of words
	((${#_uc_words[@]})) || _uc_words=($_unshared_cli_fallback_subs)
}

# the names that can be: instance and root-type names (lib/common.sh's check_name)
_unshared_cli_name() {
	[[ $1 =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]]
}

# instance names: the entries of the registry, found as lib/common.sh finds it
_unshared_cli_instances() {
	local state d
	if [[ -n ${UNSHARED_STATE:-} ]]; then
		state=$UNSHARED_STATE
	elif [[ -w /run ]]; then
		state=/run/unshared
	elif [[ -n ${XDG_RUNTIME_DIR:-} ]]; then
		state=$XDG_RUNTIME_DIR/unshared
	else
		state=${TMPDIR:-/tmp}/unshared-${LOGNAME:-user}
	fi
	for d in "$state"/*/; do
		d=${d%/}
		d=${d##*/}
		_unshared_cli_name "$d" && _uc_words+=("$d")
	done
}

# root types: those built (entries of $UNSHARED_ROOT but the images) and the
# recipes (in the directories of UNSHARED_RECIPES, then the built-in roots/)
_unshared_cli_roots() {
	local f d
	local -a dirs
	IFS=: read -ra dirs <<<"${UNSHARED_RECIPES:-}"
	for f in "${UNSHARED_ROOT:-/var/lib/unshared}"/*; do
		[[ -e $f && $f != *.squashfs ]] || continue
		f=${f##*/}
		_unshared_cli_name "$f" && _uc_words+=("$f")
	done
	for d in "${dirs[@]}" "${_uc_home:-/nonexistent}/roots"; do
		for f in "$d"/*; do
			[[ -f $f && -x $f ]] || continue
			f=${f##*/}
			_unshared_cli_name "$f" && _uc_words+=("$f")
		done
	done
}

# bridges: `ip -o link show type bridge` lines are "3: br0: <...> ..."
_unshared_cli_bridges() {
	local _n name _rest
	while read -r _n name _rest; do
		name=${name%:}
		_uc_words+=("${name%%@*}")
	done < <(ip -o link show type bridge 2>/dev/null)
}

# _unshared_cli_add WORD...: those that complete $val, after $vpre. Matched
# here, not by `compgen -W`, which would expand $(...) in a file's name.
_unshared_cli_add() {
	local w
	for w; do
		[[ -n $w && $w == "$val"* ]] && COMPREPLY+=("$vpre$w")
	done
	return 0
}

# _unshared_cli_commands: command names that complete $val
_unshared_cli_commands() {
	local -a cmds
	mapfile -t cmds < <(compgen -c -- "$val" | sort -u)
	_unshared_cli_add "${cmds[@]}"
}

# _unshared_cli_files [-d]: file names (directories with -d) that complete $val
_unshared_cli_files() {
	local w
	compopt -o filenames 2>/dev/null
	while IFS= read -r w; do
		COMPREPLY+=("$vpre$w")
	done < <(compgen "${1:--f}" -- "$val")
}

# _unshared_cli_value OPTION K: the K-th value (from 1) of OPTION, from $val
_unshared_cli_value() {
	_uc_words=()
	case $1:$2 in
	--root:1)
		if [[ $val == [/.~]* ]]; then
			_unshared_cli_files
		else
			_unshared_cli_roots
			_unshared_cli_add "${_uc_words[@]}"
		fi ;;
	--bridge:1)
		_unshared_cli_bridges
		_unshared_cli_add "${_uc_words[@]}" ;;
	--addr:1) _unshared_cli_add auto ;;
	--data-dir:1)
		case $val in
		*:*:*)
			vpre+=${val%:*}:
			val=${val##*:}
			_unshared_cli_add ro rw ;;
		*:*) ;; # the destination is a path inside the root
		*)
			_unshared_cli_files
			compopt -o nospace 2>/dev/null ;;
		esac ;;
	--overlay-dir:1 | --chdir:1 | --overlay:3 | --squash-overlay:3) _unshared_cli_files -d ;;
	--bind:1 | --ro-bind:1 | --dev-bind:1 | --overlay:1 | --squash:1 | --squash-overlay:1 | --seccomp:1)
		_unshared_cli_files ;;
	esac
	return 0
}

# _unshared_cli_words -> words, cword, cur, pre. Rebuilds the words as typed:
# bash splits "--root=x" and "SRC:DST" at = and : (COMP_WORDBREAKS), and two
# pieces with no blank between them in the line were one word.
_unshared_cli_words() {
	local line i w blank
	words=()
	if [[ -z ${COMP_LINE+set} ]]; then
		# called by hand (COMP_WORDS and COMP_CWORD only): take the words as given.
		# `COMP_WORDS=(a b) COMP_CWORD=1 _unshared_cli` passes the string "(a b)"
		# (bash has no temporary arrays): split it.
		local w0=${COMP_WORDS[0]-}
		if [[ ${COMP_WORDS@a} != *a* && $w0 == '('*')' ]]; then
			local -a split
			read -ra split <<<"${w0:1:${#w0}-2}"
			words=("${split[@]:0:COMP_CWORD+1}")
		else
			words=("${COMP_WORDS[@]:0:COMP_CWORD+1}")
		fi
	else
		line=${COMP_LINE:0:COMP_POINT}
		for ((i = 0; i < ${#COMP_WORDS[@]} && i <= COMP_CWORD; i++)); do
			w=${COMP_WORDS[i]}
			blank=0
			while [[ $line == [[:space:]]* ]]; do
				line=${line:1}
				blank=1
			done
			line=${line#"$w"}
			if ((i > 0 && !blank)); then
				words[${#words[@]} - 1]+=$w
			else
				words+=("$w")
			fi
		done
	fi
	((${#words[@]})) || words=('')
	cword=$((${#words[@]} - 1))
	cur=${words[cword]}
	# what readline replaces is the text after the last = or : that breaks words
	local breaks=${COMP_WORDBREAKS-}
	breaks=${breaks//[!=:]/}
	pre=
	if [[ -n $breaks ]]; then
		pre=${cur%"${cur##*["$breaks"]}"}
	fi
}

_unshared_cli() {
	local words cword cur pre val vpre='' i w sub='' subi=0
	local _uc_home='' _uc_cmd='' _uc_usage=''
	local -a _uc_words=()
	local -A _uc_arity=()
	COMPREPLY=()
	_unshared_cli_words
	_unshared_cli_home "${words[0]}" || _uc_cmd=
	val=$cur

	# global options, then the subcommand
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		-*) ;;
		*) sub=${words[i]} subi=$i; break ;;
		esac
	done
	if [[ -z $sub ]]; then
		if [[ $cur == -* ]]; then
			_unshared_cli_add -v --verbose -q --quiet --version -h --help
		else
			_unshared_cli_subcommands
			_unshared_cli_add "${_uc_words[@]}"
		fi
		_unshared_cli_strip
		return 0
	fi

	# walk the words after the subcommand: options and their values, hook code,
	# positional words; what is left in $opt/$k/$hook/$cmdi describes the cursor
	_unshared_cli_options "$sub"
	local opt='' k=0 hook='' cmdi=0 npos=0 a
	for ((i = subi + 1; i < cword; i++)); do
		w=${words[i]}
		((cmdi == 0)) || break
		if ((k > 0)); then
			k=$((k - 1))
			continue
		fi
		if [[ -n $hook ]]; then
			[[ $w == --* ]] || continue
			hook=
		fi
		case $w in
		--)
			cmdi=$((i + 1)) ;;
		-?*)
			opt=${w%%=*}
			a=${_uc_arity[$opt]:-0}
			if [[ $a == '*' ]]; then
				hook=1
			elif [[ $w == *=* ]]; then
				k=$((a > 0 ? a - 1 : 0)) # --opt=VALUE carries its first value
			else
				k=$a
			fi ;;
		*)
			npos=$((npos + 1))
			# spawn: the command starts at the first word that is not an option
			[[ $sub != spawn ]] || cmdi=$i ;;
		esac
	done

	if ((k > 0)); then
		_unshared_cli_value "$opt" $((${_uc_arity[$opt]} - k + 1))
	elif [[ $cur == --*=* ]] && ((cmdi == 0)) && [[ ${_uc_arity[${cur%%=*}]:-0} != 0 ]]; then
		vpre=${cur%%=*}=
		val=${cur#*=}
		if [[ ${_uc_arity[${cur%%=*}]} == '*' ]]; then
			_unshared_cli_commands
		else
			_unshared_cli_value "${cur%%=*}" 1
		fi
	elif ((cmdi)) || [[ -n $hook && $cur != --* ]]; then
		# the command, or hook code: a command name first, then files
		if { ((cmdi == cword)) || [[ -n $hook && $opt == "${words[cword - 1]}" ]]; } && [[ $cur != */* ]]; then
			_unshared_cli_commands
		else
			compopt -o default 2>/dev/null
		fi
	elif [[ $cur == -* ]]; then
		_unshared_cli_add "${!_uc_arity[@]}"
	else
		case $sub:$npos in
		spawn:*)
			if [[ $cur == */* ]]; then
				_unshared_cli_files
			else
				_unshared_cli_commands
			fi ;;
		attach:0 | logs:0 | stop:*)
			_unshared_cli_instances
			_unshared_cli_add "${_uc_words[@]}" ;;
		attach:*) compopt -o default 2>/dev/null ;;
		get-root:0 | mkroot:0)
			if [[ $sub == get-root && $cur == [/.~]* ]]; then
				_unshared_cli_files -d
			else
				_unshared_cli_roots
				_unshared_cli_add "${_uc_words[@]}"
			fi ;;
		help:0)
			_unshared_cli_subcommands
			_unshared_cli_add "${_uc_words[@]}" ;;
		esac
	fi
	_unshared_cli_strip
	return 0
}

# the candidates are whole words; readline replaces only what follows the last
# = or : in the word, so drop what precedes it (and duplicates, keeping order)
_unshared_cli_strip() {
	local -A seen=()
	local c
	local -a out=()
	for c in "${COMPREPLY[@]}"; do
		c=${c#"$pre"}
		[[ -n ${seen[$c]+set} ]] && continue
		seen[$c]=1
		out+=("$c")
	done
	COMPREPLY=("${out[@]}")
}

complete -F _unshared_cli unshared-cli
