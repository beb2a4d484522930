from claude_orchestrator.cli.boot import claude_orchestrator

if __name__ == "__main__":
    claude_orchestrator()
