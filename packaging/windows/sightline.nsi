; Sightline's per-user Windows installer (no admin rights).
;
; Built by packaging/build.py, which passes:
;   VERSION      the app version
;   PAYLOAD      the frozen one-folder app (PyInstaller's dist\Sightline)
;   OUTFILE      the installer to write
;   INTEGRATION  integration.nsh: the Explorer verbs and Send To shortcut, generated from
;                the same plan `sightline integrate install` applies (written here only
;                when the installed program cannot apply it itself)
;   ICON         sightline.ico
; Silent use: Setup.exe /S ; Uninstall.exe /S [/REMOVEDATA] (data is kept unless asked).

Unicode true
Target amd64-unicode  ; Sightline is a 64-bit program; the installer matches it
!include "FileFunc.nsh"
!include "LogicLib.nsh"
!include "${INTEGRATION}"

!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\Sightline"

Name "Sightline ${VERSION}"
OutFile "${OUTFILE}"
Icon "${ICON}"
UninstallIcon "${ICON}"
RequestExecutionLevel user
InstallDir "$LOCALAPPDATA\Programs\Sightline"
InstallDirRegKey HKCU "${UNINSTALL_KEY}" "InstallLocation"
SetCompressor /SOLID lzma
ShowInstDetails nevershow

Page directory
Page instfiles
UninstPage uninstConfirm
UninstPage instfiles

Section "Sightline"
  SetShellVarContext current
  SetOutPath "$INSTDIR"
  File /r "${PAYLOAD}\*"
  WriteUninstaller "$INSTDIR\Uninstall.exe"
  CreateShortcut "$SMPROGRAMS\Sightline.lnk" "$INSTDIR\Sightline.exe" "" "$INSTDIR\Sightline.exe" 0
  ; The program adds its own right-click verbs, so the installer, Settings and
  ; `sightline integrate status` agree on what is there. Should it fail to run (a
  ; damaged download, a blocked program), the same keys are written here instead.
  nsExec::ExecToLog '"$INSTDIR\sightline-cli.exe" integrate install'
  Pop $0
  ${If} $0 != 0
    DetailPrint "sightline-cli.exe integrate install failed ($0): adding the verbs directly"
    !insertmacro SightlineIntegrate
  ${EndIf}
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayName" "Sightline"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "Publisher" "Sightline"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayIcon" "$INSTDIR\Sightline.exe"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\Uninstall.exe"'
  WriteRegStr HKCU "${UNINSTALL_KEY}" "QuietUninstallString" '"$INSTDIR\Uninstall.exe" /S'
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "NoModify" 1
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "NoRepair" 1
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "EstimatedSize" $0
SectionEnd

Section "Uninstall"
  SetShellVarContext current
  nsExec::ExecToLog '"$INSTDIR\sightline-cli.exe" integrate uninstall'
  Pop $0
  ; Whatever the program could not remove (it failed to run) goes here; keys it removed
  ; are already gone, and deleting an absent key does nothing.
  !insertmacro SightlineUnintegrate
  Delete "$SMPROGRAMS\Sightline.lnk"
  DeleteRegKey HKCU "${UNINSTALL_KEY}"
  ; Everything under the install folder is ours; the user's history, models and
  ; settings live in %LOCALAPPDATA%\sightline and stay unless asked for.
  RMDir /r "$INSTDIR"
  ${GetParameters} $0
  ClearErrors
  ${GetOptions} $0 "/REMOVEDATA" $1
  ${IfNot} ${Errors}
    RMDir /r "$LOCALAPPDATA\sightline"
  ${ElseIfNot} ${Silent}
    MessageBox MB_YESNO|MB_DEFBUTTON2 "Also delete your Sightline history, models and settings?" IDNO keep
    RMDir /r "$LOCALAPPDATA\sightline"
    keep:
  ${EndIf}
SectionEnd
