# bash completion for barspace.  Commands and options are read from
# `barspace --help` and `barspace CMD --help`, so new ones complete without
# editing this file.
_barspace_cmds()
{
    "$1" --help 2>/dev/null |
        awk '/^commands:/ { on = 1; next } on && NF == 0 { exit }
             on { print $1 }' | sed 's/_/-/g'
}

_barspace()
{
    local cur prev bin cmd i
    COMPREPLY=()
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}
    bin=${COMP_WORDS[0]}
    cmd=
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
        -*) ;;
        *) cmd=${COMP_WORDS[i]}; break ;;
        esac
    done
    if [[ $cmd == help ]]; then
        COMPREPLY=($(compgen -W "$(_barspace_cmds "$bin")" -- "$cur"))
        return
    fi
    if [[ -z $cmd ]]; then
        COMPREPLY=($(compgen -W "$(_barspace_cmds "$bin") --help --version" -- "$cur"))
        return
    fi
    case $prev in
    --policy)
        COMPREPLY=($(compgen -W "linux linux-6.1 linux-6.12 linux-7.2 barspace pack" -- "$cur"))
        return ;;
    --host) COMPREPLY=($(compgen -W "eager deferred" -- "$cur")); return ;;
    --guest)
        COMPREPLY=($(compgen -W "linux-prepatch linux-patched linux-6.13 linux-6.1 linux-7.2" -- "$cur"))
        return ;;
    --generate)
        COMPREPLY=($(compgen -W "nvme gpu sriov mixed" -- "$cur")); return ;;
    --format)
        COMPREPLY=($(compgen -W "auto dmesg lspci sysfs iomem" -- "$cur")); return ;;
    -o|--write-trace|--write-topo|--trace|--topology|--before|--after)
        COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --svg) COMPREPLY=($(compgen -f -X '!*.svg' -- "$cur") $(compgen -d -- "$cur")); return ;;
    --html) COMPREPLY=($(compgen -f -X '!*.html' -- "$cur") $(compgen -d -- "$cur")); return ;;
    --events|--seed|--width|--add|--append|--hpmmiosize|--hpmmioprefsize|--hpiosize|--cost-*)
        return ;;
    esac
    if [[ $cur == -* ]]; then
        local opts
        opts=$("$bin" "$cmd" --help 2>/dev/null | grep -o -- '--[a-z0-9][a-z0-9-]*' | sort -u)
        COMPREPLY=($(compgen -W "$opts --help" -- "$cur"))
        return
    fi
    COMPREPLY=($(compgen -f -- "$cur"))
}
complete -o filenames -F _barspace barspace
