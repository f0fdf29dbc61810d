; Sightline's per-user Windows installer (no admin rights).
;
; Built by packaging/build.py, which passes:
;   VERSION      the app version
;   PAYLOAD      the frozen one-folder app (PyInstaller's dist\Sightline)
;   OUTFILE      the installer to write
;   INTEGRATION  integration.nsh: the Explorer verbs and Send To shortcut, generated from
;                the same plan `sightline integrate install` applies
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
  !insertmacro SightlineIntegrate
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
