// completion: shell completion scripts for bash and zsh (zsh loads the bash
// one through bashcompinit): verbs, resource types, and object names asked
// of the cluster as you type.
#include <cstdio>
#include <string>

#include "commands.h"

#include "berth/api/kinds.h"

namespace berth::cli {
namespace {

constexpr const char* kVerbs =
    "annotate apply cluster-info completion config cordon create delete describe down drain "
    "events exec get label logs rollout scale set top uncordon up version";

std::string BashScript() {
  std::string types;
  for (const auto& k : api::AllKinds()) {
    types += std::string(k.plural) + " ";
    if (!k.short_name.empty()) types += std::string(k.short_name) + " ";
  }
  std::string s = R"SH(# berth completion (bash): source <(berth completion bash)
_berth() {
  local cur=${COMP_WORDS[COMP_CWORD]} verb="" type="" i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case ${COMP_WORDS[i]} in
      -*) ;;
      *) if [[ -z $verb ]]; then verb=${COMP_WORDS[i]}; elif [[ -z $type ]]; then type=${COMP_WORDS[i]}; fi ;;
    esac
  done
  if [[ -z $verb ]]; then
    COMPREPLY=($(compgen -W "@VERBS@" -- "$cur")); return
  fi
  case $verb in
    rollout) [[ -z $type ]] && { COMPREPLY=($(compgen -W "status history undo pause resume restart" -- "$cur")); return; }
             COMPREPLY=($(compgen -W "deployment/ daemonset/" -- "$cur")); return ;;
    top) [[ -z $type ]] && { COMPREPLY=($(compgen -W "nodes pods" -- "$cur")); return; }
         COMPREPLY=($(compgen -W "$(berth get "$type" --no-headers 2>/dev/null | awk '{print $1}')" -- "$cur")); return ;;
    config) COMPREPLY=($(compgen -W "view current-context get-contexts use-context" -- "$cur")); return ;;
    completion) COMPREPLY=($(compgen -W "bash zsh" -- "$cur")); return ;;
    cordon|uncordon|drain) COMPREPLY=($(compgen -W "$(berth get nodes --no-headers 2>/dev/null | awk '{print $1}')" -- "$cur")); return ;;
    logs|exec) COMPREPLY=($(compgen -W "$(berth get pods --no-headers 2>/dev/null | awk '{print $1}')" -- "$cur")); return ;;
    get|describe|delete|label|annotate|scale)
      if [[ -z $type ]]; then
        COMPREPLY=($(compgen -W "@TYPES@all" -- "$cur"))
      else
        COMPREPLY=($(compgen -W "$(berth get "$type" --no-headers 2>/dev/null | awk '{print $1}')" -- "$cur"))
      fi ;;
  esac
}
complete -F _berth berth
)SH";
  s.replace(s.find("@VERBS@"), 7, kVerbs);
  s.replace(s.find("@TYPES@"), 7, types);
  return s;
}

}  // namespace

void AddCompletionCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("completion", "print a shell completion script (bash or zsh)");
  auto shell = std::make_shared<std::string>();
  cmd->add_option("shell", *shell, "bash or zsh")->required();
  cmd->callback([shell, exit_code] {
    if (*shell == "bash") {
      std::printf("%s", BashScript().c_str());
    } else if (*shell == "zsh") {
      std::printf(
          "# berth completion (zsh): source <(berth completion zsh)\n"
          "autoload -U +X bashcompinit && bashcompinit\n%s",
          BashScript().c_str());
    } else {
      *exit_code = Fail(Error::Msg("unsupported shell type \"" + *shell + "\" (bash or zsh)"));
    }
  });
}

}  // namespace berth::cli
