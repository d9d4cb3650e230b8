# bash completion for dmlctl
#
# Install as <prefix>/share/bash-completion/completions/dmlctl (make install
# does), or source this file from ~/.bashrc.
#
# Nothing about dmlctl's commands is written down here; the binary is asked:
#
#   dmlctl --dmlctl-completion-helper                   the commands
#   dmlctl <command> --dmlctl-completion-helper         the verbs, or, for a
#                                                       command without verbs,
#                                                       its long options
#   dmlctl <command> <verb> --dmlctl-completion-helper  the verb's long options
#
# and an option takes a value when its line in the -h text shows a
# placeholder ("-k, --key <key>") or a choice ("--format <csv|tsv>").  A
# value that is a choice completes to the words of the choice, as the -h
# text shows it, in the usage ("[--kind (ols | ridge | logistic)]") or in
# the option's line ("--format <csv|tsv>"), or else as the option's
# description lists them, when it is nothing but a list of words, with
# remarks in parentheses ("--method <method>  exact (default), permutation
# or loo").  So a command, verb, option or choice added to dmlctl completes
# without touching this file.  Values of -k/--key and the argument of
# balance complete to the names that 'dmlctl key list' prints, dataset
# arguments and the values of --dataset and --validation to the names that
# 'dmlctl dataset list' prints, model arguments to those of 'dmlctl model
# list', round arguments and --round to those of 'dmlctl round list' (only
# the open rounds where only an open round will do, the aggregated ones for
# reward compute, and for reward pay those that 'dmlctl reward list' does
# not list as paid yet), the remote of fetch, pull, push and remote remove
# to those of 'dmlctl remote list', --base-model to models and aggregated rounds (all
# in the repository that -C names, if given), -C and directories to
# directories, files to files.

# Run the dmlctl being completed, quietly.
_dmlctl_run()
{
	"$_dmlctl_bin" "$@" 2>/dev/null </dev/null
}

# Options from the -h text of "dmlctl [<command> [<verb>]]", one per line:
# all of them, or with "value" as $1 only those that take a value.
_dmlctl_help_opts()
{
	local want=$1 line left name
	shift
	while IFS= read -r line; do
		line=${line#"${line%%[![:space:]]*}"}
		[[ $line == -* ]] || continue
		left=${line%%  *}
		if [[ $want == value ]]; then
			[[ $left == *['<(']* ]] || continue
		fi
		left=${left%%['<(']*}
		for name in ${left//,/ }; do
			printf '%s\n' "$name"
		done
	done < <(_dmlctl_run "$@" -h)
}

# The remotes of the repository, as 'dmlctl remote list' prints them.
_dmlctl_remote_names()
{
	local name url
	while IFS=$'\t' read -r name url; do
		printf '%s\n' "$name"
	done < <(_dmlctl_run "${_dmlctl_global[@]}" remote list)
}

# The names of the keys in the key directory.
_dmlctl_key_names()
{
	local name rest
	while read -r name rest; do
		[[ -n $name ]] && printf '%s\n' "$name"
	done < <(_dmlctl_run key list)
}

# The names of the datasets in the repository, as 'dmlctl dataset list'
# prints them (the first column), after the -C options typed so far.
_dmlctl_dataset_names()
{
	local name rest
	while read -r name rest; do
		[[ -n $name ]] && printf '%s\n' "$name"
	done < <(_dmlctl_run "${_dmlctl_global[@]}" dataset list)
}

# The names of the models in the repository, likewise.
_dmlctl_model_names()
{
	local name rest
	while read -r name rest; do
		[[ -n $name ]] && printf '%s\n' "$name"
	done < <(_dmlctl_run "${_dmlctl_global[@]}" model list)
}

# The names of the rounds in the repository, as 'dmlctl round list' prints
# them (the first column), or with a status as $1 only the rounds in that
# status (the second column: open, aggregated or closed).
_dmlctl_round_names()
{
	local want=${1:-} name status rest
	while read -r name status rest; do
		[[ -n $name && ( -z $want || $status == "$want" ) ]] && printf '%s\n' "$name"
	done < <(_dmlctl_run "${_dmlctl_global[@]}" round list)
}

# The aggregated rounds that 'dmlctl reward list' does not list as paid.
_dmlctl_unpaid_rounds()
{
	local name rest paid=' '
	while read -r name rest; do
		[[ -n $name ]] && paid+="$name "
	done < <(_dmlctl_run "${_dmlctl_global[@]}" reward list)
	while read -r name; do
		[[ $paid == *" $name "* ]] || printf '%s\n' "$name"
	done < <(_dmlctl_round_names aggregated)
}

# The words of the choice that option $1 takes, from the -h text of
# "dmlctl [<command> [<verb>]]": "--opt (a | b)" in the usage, else
# "--opt <a|b>" in the option's line, else the option's description when,
# remarks in parentheses left out, it is only words joined by ", " and
# " or " ("exact (default), permutation or loo"); nothing if it shows no
# choice.
_dmlctl_choices()
{
	local opt=$1 text re line left name desc='' found=0
	shift
	text=$(_dmlctl_run "$@" -h)
	re="(^|[[ ])$opt [(]([^)]*[|][^)]*)[)]"
	if ! [[ $text =~ $re ]]; then
		re="(^|[ ,])$opt <([^>]*[|][^>]*)>"
		[[ $text =~ $re ]] || text=''
	fi
	if [[ -n $text ]]; then
		# shellcheck disable=SC2086 # split the choice into its words
		printf '%s\n' ${BASH_REMATCH[2]//|/ }
		return 0
	fi
	# The description: after the option on its line, or on the next one.
	while IFS= read -r line; do
		line=${line#"${line%%[![:space:]]*}"}
		if ((found)); then
			desc=$line
			break
		fi
		[[ $line == -* ]] || continue
		left=${line%%  *}
		for name in ${left%%['<(']*}; do
			[[ ${name%,} == "$opt" ]] && found=1
		done
		if ((found)) && [[ $line != "$left" ]]; then
			desc=${line#"$left"}
			desc=${desc#"${desc%%[![:space:]]*}"}
			break
		fi
	done < <(_dmlctl_run "$@" -h)
	re=' *[(][^()]*[)]'
	while [[ $desc =~ $re ]]; do
		desc=${desc/"${BASH_REMATCH[0]}"/}
	done
	re='^[a-z0-9][a-z0-9.-]*((, | or |, or )[a-z0-9][a-z0-9.-]*)+$'
	[[ $desc =~ $re ]] || return 0
	desc=${desc//, or / }
	desc=${desc//, / }
	# shellcheck disable=SC2086 # split the list into its words
	printf '%s\n' ${desc// or / }
}

# COMPREPLY from a list of words, matched against $cur.
_dmlctl_words()
{
	local IFS=$' \t\n'
	mapfile -t COMPREPLY < <(compgen -W "$1" -- "$cur")
}

_dmlctl_files()
{
	compopt -o filenames 2>/dev/null
	mapfile -t COMPREPLY < <(compgen -f -- "$cur")
}

_dmlctl_dirs()
{
	compopt -o filenames 2>/dev/null
	mapfile -t COMPREPLY < <(compgen -d -- "$cur")
}

# Complete the value of option $1 (the word before the value) of the
# command $cmd and verb $verb being completed.
_dmlctl_value()
{
	local choices
	case $1 in
	-k | --key) _dmlctl_words "$(_dmlctl_key_names)" ;;
	-C) _dmlctl_dirs ;;
	--attach | -o | --output | --file) _dmlctl_files ;;
	--dataset | --validation) _dmlctl_words "$(_dmlctl_dataset_names)" ;;
	--round)
		case $cmd${verb:+ $verb} in
		'reward compute') _dmlctl_words "$(_dmlctl_round_names aggregated)" ;;
		'reward pay') _dmlctl_words "$(_dmlctl_unpaid_rounds)" ;;
		*) _dmlctl_words "$(_dmlctl_round_names open)" ;;
		esac
		;;
	--base-model)
		_dmlctl_words "$(_dmlctl_model_names) $(_dmlctl_round_names aggregated)"
		;;
	--*)
		[[ -n $cmd ]] && choices=$(_dmlctl_choices "$1" "$cmd" ${verb:+"$verb"})
		if [[ -n $choices ]]; then
			_dmlctl_words "$choices"
		else
			COMPREPLY=()
		fi
		;;
	*) COMPREPLY=() ;;
	esac
}

_dmlctl()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=''
	local _dmlctl_bin=${COMP_WORDS[0]}
	local i word cmd='' verb='' helper opt='' vopts
	local -a args=() _dmlctl_global=()

	COMPREPLY=()
	# A literal ~/ as typed: the shell has not expanded it in COMP_WORDS.
	# shellcheck disable=SC2088
	[[ $_dmlctl_bin == '~/'* ]] && _dmlctl_bin=$HOME/${_dmlctl_bin#'~/'}
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}

	# "--opt=value": bash splits at '=' when it is in COMP_WORDBREAKS.
	if [[ $cur == = ]]; then
		opt=$prev
		cur=
	elif [[ $prev == = ]] && ((COMP_CWORD > 1)); then
		opt=${COMP_WORDS[COMP_CWORD - 2]}
	elif [[ $cur == --*=* ]]; then
		opt=${cur%%=*}
		cur=${cur#*=}
	fi

	# Global options, then the command.
	for ((i = 1; i < COMP_CWORD; i++)); do
		word=${COMP_WORDS[i]}
		case $word in
		-C)
			((i++))
			if ((i < COMP_CWORD)); then
				word=${COMP_WORDS[i]}
				# shellcheck disable=SC2088
				[[ $word == '~/'* ]] && word=$HOME/${word#'~/'}
				_dmlctl_global+=(-C "$word")
			fi
			;;
		-*) ;;
		*)
			cmd=$word
			break
			;;
		esac
	done

	if [[ -z $cmd ]]; then
		if [[ -n $opt ]]; then
			_dmlctl_value "$opt"
		elif [[ $prev == -C ]]; then
			_dmlctl_dirs
		elif [[ $cur == -* ]]; then
			_dmlctl_words "$(_dmlctl_help_opts all)"
		else
			_dmlctl_words "$(_dmlctl_run --dmlctl-completion-helper)"
		fi
		return 0
	fi

	# The verb, for commands that have verbs.
	helper=$(_dmlctl_run "$cmd" --dmlctl-completion-helper)
	if [[ -n ${helper//[[:space:]]/} && $helper != -* ]]; then
		for ((i++; i < COMP_CWORD; i++)); do
			word=${COMP_WORDS[i]}
			if [[ $word != -* ]]; then
				verb=$word
				break
			fi
		done
		if [[ -z $verb ]]; then
			if [[ $cur == -* ]]; then
				_dmlctl_words "--help"
			else
				_dmlctl_words "$helper"
			fi
			return 0
		fi
		helper=$(_dmlctl_run "$cmd" "$verb" --dmlctl-completion-helper)
	fi

	if [[ -n $opt ]]; then
		_dmlctl_value "$opt"
		return 0
	fi

	# The arguments so far, skipping options and the values they take.
	vopts=" $(_dmlctl_help_opts value "$cmd" ${verb:+"$verb"} | tr '\n' ' ') "
	for ((i++; i < COMP_CWORD; i++)); do
		word=${COMP_WORDS[i]}
		if [[ $word == -- ]]; then
			for ((i++; i < COMP_CWORD; i++)); do
				args+=("${COMP_WORDS[i]}")
			done
			break
		elif [[ $word == -* ]]; then
			[[ $vopts == *" $word "* ]] && ((i++))
		elif [[ $word != = ]]; then
			args+=("$word")
		fi
	done

	if [[ $vopts == *" $prev "* ]]; then
		_dmlctl_value "$prev"
		return 0
	fi
	if [[ $cur == -* ]]; then
		_dmlctl_words "$helper --help"
		return 0
	fi

	# Positional arguments.
	case $cmd${verb:+ $verb} in
	help)
		((${#args[@]} == 0)) && _dmlctl_words "dmlctl $(_dmlctl_run --dmlctl-completion-helper)"
		;;
	init)
		((${#args[@]} == 0)) && _dmlctl_dirs
		;;
	fetch | pull | push | 'remote remove')
		((${#args[@]} == 0)) && _dmlctl_words "$(_dmlctl_remote_names)"
		;;
	clone)
		((${#args[@]} <= 1)) && _dmlctl_dirs
		;;
	'key show' | 'key export' | 'key revoke' | balance)
		((${#args[@]} == 0)) && _dmlctl_words "$(_dmlctl_key_names)"
		;;
	'key add')
		if ((${#args[@]} == 0)); then
			local -a names
			mapfile -t names < <(compgen -W "$(_dmlctl_key_names)" -- "$cur")
			_dmlctl_files
			COMPREPLY+=("${names[@]}")
		fi
		;;
	'key import' | 'dataset publish')
		((${#args[@]} == 0)) && _dmlctl_files
		;;
	'dataset show' | 'dataset log' | 'dataset get' | 'dataset verify')
		((${#args[@]} == 0)) && _dmlctl_words "$(_dmlctl_dataset_names)"
		;;
	'model show' | 'model evaluate' | 'model export')
		((${#args[@]} == 0)) && _dmlctl_words "$(_dmlctl_model_names)"
		;;
	'model predict')
		if ((${#args[@]} == 0)); then
			_dmlctl_words "$(_dmlctl_model_names)"
		elif ((${#args[@]} == 1)); then
			_dmlctl_files
		fi
		;;
	'round status')
		((${#args[@]} == 0)) && _dmlctl_words "$(_dmlctl_round_names)"
		;;
	'round aggregate' | 'round close')
		((${#args[@]} == 0)) && _dmlctl_words "$(_dmlctl_round_names open)"
		;;
	'update train' | 'update sign' | 'update verify' | 'update submit')
		((${#args[@]} == 0)) && _dmlctl_files
		;;
	esac
	return 0
}

complete -F _dmlctl dmlctl
