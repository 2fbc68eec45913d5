// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

interface ILedgerflowRegistry {
    function isDataset(bytes32 root) external view returns (bool);
    function isModel(bytes32 modelHash) external view returns (bool);
    function licenceOf(bytes32 modelHash) external view returns (address, uint256);
}

interface ILicence {
    function hasLicence(address account, uint256 licenceId) external view returns (bool);
}

/// On-chain requests for off-chain analytics and ML, fulfilled by authorised ledgerflow
/// workers with the hashes that let anyone re-derive the result: the result's keccak256,
/// the Merkle root of the lake chunks it was computed from, the model's content hash and
/// the code version. Payment is ether, held until fulfilment (then the worker's to
/// withdraw) or refunded to the requester who cancels after expiry.
contract LedgerflowOracle {
    enum State {
        None,
        Pending,
        Fulfilled,
        Cancelled
    }

    struct Req {
        address requester;
        bytes32 jobId;
        bytes32 modelHash;
        address callback;
        bytes4 selector;
        uint64 expiry;
        uint256 payment;
        State state;
    }

    address public owner;
    ILedgerflowRegistry public immutable registry;
    mapping(address => bool) public workers;
    mapping(address => uint256) public nonces;
    mapping(bytes32 => Req) public requests;
    /// Payments earned by workers, to withdraw.
    mapping(address => uint256) public earned;

    event Request(
        bytes32 indexed requestId,
        address indexed requester,
        bytes32 indexed jobId,
        bytes32 modelHash,
        bytes params,
        address callback,
        bytes4 callbackSelector,
        uint64 expiry,
        uint256 payment,
        uint256 nonce
    );
    event Fulfilled(
        bytes32 indexed requestId,
        address indexed worker,
        bytes result,
        bytes32 resultHash,
        bytes32 datasetRoot,
        bytes32 modelHash,
        bytes32 codeVersion,
        bool callbackOk
    );
    event Cancelled(bytes32 indexed requestId, address indexed requester, uint256 refund);
    event WorkerSet(address indexed worker, bool authorised);
    event OwnerSet(address indexed owner);
    event Withdrawn(address indexed worker, uint256 amount);

    constructor(ILedgerflowRegistry registry_) {
        owner = msg.sender;
        registry = registry_;
        emit OwnerSet(msg.sender);
    }

    modifier onlyOwner() {
        require(msg.sender == owner, "Oracle: not the owner");
        _;
    }

    function setWorker(address worker, bool authorised) external onlyOwner {
        workers[worker] = authorised;
        emit WorkerSet(worker, authorised);
    }

    function setOwner(address next) external onlyOwner {
        require(next != address(0), "Oracle: zero owner");
        owner = next;
        emit OwnerSet(next);
    }

    /// A request for job `jobId` (a registered query template, `score`, `train`, …) with
    /// ABI-encoded `params`; the result goes to `callback.callbackSelector(requestId,
    /// result)` before `expiry` (Unix seconds) or the payment can be taken back.
    function request(
        bytes32 jobId,
        bytes calldata params,
        address callback,
        bytes4 callbackSelector,
        uint64 expiry
    ) external payable returns (bytes32) {
        return _request(jobId, bytes32(0), params, callback, callbackSelector, expiry);
    }

    /// A request that names a registered model: a model registered with a licence can be
    /// requested only by a holder of that licence.
    function requestModel(
        bytes32 jobId,
        bytes32 modelHash,
        bytes calldata params,
        address callback,
        bytes4 callbackSelector,
        uint64 expiry
    ) external payable returns (bytes32) {
        require(registry.isModel(modelHash), "Oracle: unknown model");
        (address licence, uint256 licenceId) = registry.licenceOf(modelHash);
        if (licence != address(0)) {
            require(ILicence(licence).hasLicence(msg.sender, licenceId), "Oracle: no licence for this model");
        }
        return _request(jobId, modelHash, params, callback, callbackSelector, expiry);
    }

    function _request(
        bytes32 jobId,
        bytes32 modelHash,
        bytes calldata params,
        address callback,
        bytes4 callbackSelector,
        uint64 expiry
    ) private returns (bytes32 requestId) {
        require(expiry > block.timestamp, "Oracle: expiry in the past");
        require(callback != address(0), "Oracle: no callback");
        uint256 nonce = nonces[msg.sender]++;
        requestId = keccak256(abi.encodePacked(address(this), msg.sender, nonce));
        requests[requestId] = Req(
            msg.sender, jobId, modelHash, callback, callbackSelector, expiry, msg.value, State.Pending
        );
        emit Request(requestId, msg.sender, jobId, modelHash, params, callback, callbackSelector, expiry, msg.value, nonce);
    }

    /// Delivers a result: an authorised worker, once, before expiry, with hashes that
    /// name only registered datasets and models. The callback's failure does not undo the
    /// fulfilment (it is reported in the event).
    function fulfil(
        bytes32 requestId,
        bytes calldata result,
        bytes32 resultHash,
        bytes32 datasetRoot,
        bytes32 modelHash,
        bytes32 codeVersion
    ) external returns (bool callbackOk) {
        require(workers[msg.sender], "Oracle: not an authorised worker");
        Req storage r = requests[requestId];
        require(r.state != State.None, "Oracle: unknown request");
        require(r.state != State.Fulfilled, "Oracle: already fulfilled");
        require(r.state != State.Cancelled, "Oracle: request cancelled");
        require(block.timestamp <= r.expiry, "Oracle: request expired");
        require(keccak256(result) == resultHash, "Oracle: result hash mismatch");
        require(datasetRoot == bytes32(0) || registry.isDataset(datasetRoot), "Oracle: unknown dataset");
        if (r.modelHash != bytes32(0)) {
            require(modelHash == r.modelHash, "Oracle: not the requested model");
        }
        require(modelHash == bytes32(0) || registry.isModel(modelHash), "Oracle: unknown model");
        r.state = State.Fulfilled;
        earned[msg.sender] += r.payment;
        (callbackOk, ) = r.callback.call(abi.encodeWithSelector(r.selector, requestId, result));
        emit Fulfilled(requestId, msg.sender, result, resultHash, datasetRoot, modelHash, codeVersion, callbackOk);
    }

    /// The requester takes the payment back from a request nobody fulfilled in time.
    function cancel(bytes32 requestId) external {
        Req storage r = requests[requestId];
        require(r.state == State.Pending, "Oracle: not pending");
        require(msg.sender == r.requester, "Oracle: not the requester");
        require(block.timestamp > r.expiry, "Oracle: not expired yet");
        r.state = State.Cancelled;
        uint256 refund = r.payment;
        r.payment = 0;
        emit Cancelled(requestId, msg.sender, refund);
        (bool ok, ) = payable(msg.sender).call{value: refund}("");
        require(ok, "Oracle: refund failed");
    }

    function withdraw() external {
        uint256 amount = earned[msg.sender];
        earned[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        (bool ok, ) = payable(msg.sender).call{value: amount}("");
        require(ok, "Oracle: withdrawal failed");
    }

    function stateOf(bytes32 requestId) external view returns (State) {
        return requests[requestId].state;
    }
}
