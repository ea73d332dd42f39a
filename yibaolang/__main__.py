from yibaolang.tools.cli import main

main()
